"""Dissent analysis: Polis-style opinion groups, consensus and division, and their charts.

Pure computation on plain votes (numpy, scikit-learn, matplotlib only): nothing here
imports Discord, the store or the Discord layer, so the engine, the bot and the CLI can
all use it and tests run it directly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.analysis.groups import POLIS_RULE, InGroupRule, KSmoother
    from bot.analysis.matrix import AGREE, DISAGREE, PASS, Id, StatementVote, VoteMatrix, build_vote_matrix
    from bot.analysis.opinions import DissentAnalysis, OpinionGroup, analyze, analyze_matrix
    from bot.analysis.statements import MajorityStatement, Representative, StatementStats

# Resolved on first use (PEP 562): `python -m bot --help` reaches `bot.analysis.cli` through this
# package, and numpy and scikit-learn must not load for a help text.
_HOMES = {
    **dict.fromkeys(("POLIS_RULE", "InGroupRule", "KSmoother"), "bot.analysis.groups"),
    **dict.fromkeys(
        ("AGREE", "DISAGREE", "PASS", "Id", "StatementVote", "VoteMatrix", "build_vote_matrix"), "bot.analysis.matrix"
    ),
    **dict.fromkeys(("DissentAnalysis", "OpinionGroup", "analyze", "analyze_matrix"), "bot.analysis.opinions"),
    **dict.fromkeys(("MajorityStatement", "Representative", "StatementStats"), "bot.analysis.statements"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


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
