"""The dissent map as plain data: a snapshot taken on the event loop, computed on a worker thread.

`snapshot()` copies what the map needs out of the live `Deliberation` (names already resolved
to what the viewer may see), so `compute()` can run on another thread without touching engine
state. `compute()` runs the Polis-style analysis and renders both charts.

AI participants never vote (the engine refuses), and only human votes are read here anyway:
they are never rows of the vote matrix. Their positions may be statements members vote on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.analysis import KSmoother, StatementVote, analyze
from bot.analysis.charts import consent_chart_png, opinion_map_png
from bot.analysis.groups import POLIS_RULE
from bot.analysis.opinions import MIN_CLUSTERED, MIN_STATEMENTS, DissentAnalysis
from bot.engine import coverage
from bot.engine.deliberation import Deliberation
from bot.engine.model import ActorKind, ContributionKind, Role, Vote
from bot.votes import moderated_out, statement_votes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatementView:
    id: int
    kind: ContributionKind
    author: str
    stance: str | None
    text: str
    agree: int
    disagree: int
    passed: int


@dataclass(frozen=True)
class ObjectionView:
    id: int
    author: str
    what: str
    why: str
    from_block: bool


@dataclass(frozen=True)
class DraftView:
    """A draft and the open dissent it neither cites nor answers (computed by code, `coverage`)."""

    id: int
    author: str
    before_the_group: bool
    not_addressed: tuple[coverage.Unaddressed, ...]  # empty when it answers everything


@dataclass(frozen=True)
class DissentSnapshot:
    deliberation_id: int
    question: str
    round_kind: str
    round_deadline: datetime | None
    statements: dict[int, StatementView]
    votes: list[StatementVote]
    open_objections: list[ObjectionView]
    members: list[str]
    silent: list[str]
    consent_counts: dict[str, int]
    ai_stances: list[tuple[str, str]]
    moderated_out: frozenset[int] = frozenset()
    smoother: KSmoother | None = None
    drafts: tuple[DraftView, ...] = ()


@dataclass(frozen=True)
class DissentMap:
    snapshot: DissentSnapshot
    analysis: DissentAnalysis | None
    opinion_map: bytes | None
    consent_chart: bytes
    voters: int
    errors: list[str] = field(default_factory=list)


def author_of(d: Deliberation, key: str, *, reveal: bool) -> str:
    """A statement's author as shown: the AI label, an alias, or the member's name."""
    return d.shown_as(key, reveal=reveal)


def snapshot(d: Deliberation, *, reveal: bool = False, smoother: KSmoother | None = None) -> DissentSnapshot:
    statements = {}
    for c in d.statements():
        t = d.tally(c.id)
        statements[c.id] = StatementView(
            c.id,
            c.kind,
            author_of(d, c.author, reveal=reveal),
            c.stance,
            c.text,
            t[Vote.AGREE],
            t[Vote.DISAGREE],
            t[Vote.PASS],
        )
    # In time order (Polis's clustering order depends on it); latest vote per pair counts.
    votes = [v for v in statement_votes(d) if v.statement_id in statements]
    objections = [
        ObjectionView(o.id, d.display_name(o.author, reveal=reveal), o.what, o.why, o.from_block)
        for o in d.open_objections()
    ]
    counts = dict.fromkeys(("endorse", "reservations", "stand_aside", "block"), 0)
    for key, response in d.consent.items():
        if key.startswith(ActorKind.HUMAN.value + ":"):
            counts[response.choice.value] += 1
    stances = []
    for seat in d.ai_seats.values():
        position = d.position_of(f"ai:{seat.name}")
        stances.append((f"{seat.name} ({seat.model})", (position.stance or "no stance") if position else "no position"))
    return DissentSnapshot(
        deliberation_id=d.id,
        question=d.question,
        round_kind=d.round.kind.value,
        round_deadline=d.round.deadline if d.is_open else None,
        statements=statements,
        votes=votes,
        open_objections=objections,
        # The moderator facilitates; like the AI's turn (engine.ai_due), the panel does not wait on them.
        members=[d.display_name(p.key, reveal=reveal) for p in d.humans() if p.role is Role.PARTICIPANT],
        silent=[d.display_name(p.key, reveal=reveal) for p in d.silent_humans() if p.role is Role.PARTICIPANT],
        consent_counts=counts,
        ai_stances=stances,
        moderated_out=moderated_out(d),
        smoother=smoother,
        drafts=tuple(
            DraftView(
                c.id,
                author_of(d, c.author, reveal=reveal),
                d.proposal is not None and d.proposal.draft_id == c.id,
                tuple(coverage.unaddressed(d, c.id, reveal=reveal)),
            )
            for c in d.drafts()
        ),
    )


def compute(snap: DissentSnapshot) -> DissentMap:
    """The analysis and both charts (CPU work: call it on a worker thread)."""
    errors: list[str] = []
    result: DissentAnalysis | None = None
    picture: bytes | None = None
    if snap.votes:
        try:
            result = analyze(snap.votes, snap.moderated_out, smoother=snap.smoother)
            picture = opinion_map_png(result)
        except Exception:  # the map must not take the panel down with it
            log.exception("Dissent analysis failed for deliberation %s", snap.deliberation_id)
            errors.append("The opinion analysis failed; the lists below come from the plain vote counts.")
            result, picture = None, None
    chart = consent_chart_png(snap.consent_counts, snap.ai_stances)
    voters = len({v.participant_id for v in snap.votes})
    return DissentMap(snap, result, picture, chart, voters, errors)


def thresholds_text() -> str:
    return (
        f"Opinion groups need at least {MIN_STATEMENTS} statements with votes and {MIN_CLUSTERED} members "
        f"who each voted on at least min({POLIS_RULE.min_votes}, number of statements) statements (Polis's rule)."
    )


__all__ = ["DissentMap", "DissentSnapshot", "ObjectionView", "StatementView", "compute", "snapshot", "thresholds_text"]
