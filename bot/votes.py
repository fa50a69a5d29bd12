"""Members' statement votes as the dissent analysis reads them (the engine and the analysis meet here).

Only members' votes: AI participants never vote (the engine refuses), and nothing else is read.
The analysis takes votes in time order, the latest per member and statement counting.
"""

from __future__ import annotations

from datetime import timedelta

from bot.analysis.matrix import AGREE, DISAGREE, PASS, StatementVote
from bot.engine.deliberation import Deliberation
from bot.engine.model import ActorKind, Vote

VOTE_NUMBERS = {Vote.AGREE: AGREE, Vote.DISAGREE: DISAGREE, Vote.PASS: PASS}


def statement_votes(d: Deliberation) -> list[StatementVote]:
    """Every member's votes on positions and statements, in order, timed from the deliberation's start."""
    start = d.created_at
    return [
        StatementVote(
            cast.member,
            cast.statement_id,
            VOTE_NUMBERS[cast.vote],
            int((cast.at - start) / timedelta(milliseconds=1)) if start else None,
        )
        for cast in d.vote_history
        if cast.member.startswith(ActorKind.HUMAN.value + ":")
    ]


def moderated_out(d: Deliberation) -> frozenset[int]:
    """Statements the moderator took out of the analysis."""
    return frozenset(d.moderated_out)
