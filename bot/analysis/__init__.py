"""Dissent analysis: Polis-style opinion groups, consensus and division, and their charts.

Pure computation on plain votes (numpy, scikit-learn, matplotlib only): nothing here
imports Discord, the store or the Discord layer, so the engine, the bot and the CLI can
all use it and tests run it directly.
"""

from bot.analysis.groups import POLIS_RULE, InGroupRule, KSmoother
from bot.analysis.matrix import AGREE, DISAGREE, PASS, Id, StatementVote, VoteMatrix, build_vote_matrix
from bot.analysis.opinions import DissentAnalysis, OpinionGroup, analyze, analyze_matrix
from bot.analysis.statements import MajorityStatement, Representative, StatementStats

__all__ = [
    "AGREE",
    "DISAGREE",
    "PASS",
    "POLIS_RULE",
    "DissentAnalysis",
    "Id",
    "InGroupRule",
    "KSmoother",
    "MajorityStatement",
    "OpinionGroup",
    "Representative",
    "StatementStats",
    "StatementVote",
    "VoteMatrix",
    "analyze",
    "analyze_matrix",
    "build_vote_matrix",
]
