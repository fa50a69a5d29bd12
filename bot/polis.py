"""Polis interchange: bring a Polis conversation into a deliberation, and write one out as Polis CSV.

The import goes through the service and the engine like any member's action, so an imported
conversation is hash-chained, verifiable and analysable like one held in Discord. Each Polis
comment becomes a statement by its author, each vote a statement vote, at Polis's own times.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.analysis.matrix import StatementVote
from bot.analysis.polis_export import PolisComment, read_polis_export, write_polis_export
from bot.engine import Actor, ContributionKind, Deliberation, Vote, errors
from bot.engine.events import Event, EventKind
from bot.service import Roundtable
from bot.votes import VOTE_NUMBERS

VOTE_OF = {1: Vote.AGREE, -1: Vote.DISAGREE, 0: Vote.PASS}
# Votes are stored in batches: one transaction each, in Polis's order.
BATCH = 500


@dataclass(frozen=True)
class ImportReport:
    deliberation_id: int
    statements: int
    votes: int
    moderated_out: int
    skipped_duplicates: int
    skipped_votes: int


class ReplayClock:
    """The service's clock during an import: Polis's timestamps, not the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _when(ms: int | None, fallback: datetime) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else fallback


def polis_member(participant_id: int) -> Actor:
    return Actor.human(participant_id, f"Polis participant {participant_id}")


def _topic(directory: Path) -> str:
    summary = directory / "summary.csv"
    if summary.exists():
        for line in summary.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(",")
            if key == "topic" and value.strip():
                return value.strip().strip('"')
    return f"Polis conversation {directory.name}"


async def import_polis(
    rt: Roundtable, clock: ReplayClock, directory: Path, *, guild_id: int, moderator: Actor
) -> ImportReport:
    """Replay a Polis export into a new deliberation in `guild_id`; its dissent round holds the votes."""
    export = read_polis_export(directory)
    times = [c.created_ms for c in export.comments if c.created_ms] + [
        v.created_ms for v in export.votes if v.created_ms
    ]
    clock.now = _when(min(times), datetime.now(UTC)) if times else datetime.now(UTC)
    # Polis has no rounds: the positions round is skipped (forced, so the record says so), and the
    # dissent round stays open for as long as the conversation ran.
    span = max(1, int((_when(max(times), clock.now) - clock.now).total_seconds() // 60) + 1) if times else 60
    started = await rt.start(
        guild_id, None, moderator, _topic(directory), template="consent", ai=False, round_minutes=min(span + 60, 43_200)
    )
    d_id = started.deliberation.id
    await rt.act(guild_id, d_id, lambda d, at: d.advance(moderator, at, force=True))

    ids: dict[int, int] = {}
    duplicates = 0
    for comment in sorted(export.comments, key=lambda c: (c.created_ms or 0, c.comment_id)):
        clock.now = max(clock.now, _when(comment.created_ms, clock.now))
        author = polis_member(int(comment.author_id))

        def state(d: Deliberation, at: datetime, a: Actor = author, c: PolisComment = comment) -> list[Event]:
            return d.state_statement(a, c.body, at)

        try:
            change = await rt.act(guild_id, d_id, state)
        except (errors.AlreadyRecorded, errors.EmptyText, errors.TextTooLong):
            duplicates += 1
            continue
        (ids[int(comment.comment_id)],) = change.added(ContributionKind.STATEMENT)

    stored = skipped = 0
    votes = [v for v in export.votes if int(v.statement_id) in ids and v.vote in VOTE_OF]
    skipped += len(export.votes) - len(votes)
    for batch in _batches(votes, BATCH):
        clock.now = max(clock.now, _when(batch[-1].created_ms, clock.now))

        def decide(d: Deliberation, at: datetime, batch: list[StatementVote] = batch) -> list[Event]:
            nonlocal skipped
            events: list[Event] = []
            joined: set[str] = set()
            for v in batch:
                voter = polis_member(int(v.participant_id))
                try:
                    vote = VOTE_OF[v.vote]
                    # Polis records each author's own vote on their comment: the import keeps it.
                    new = d.vote(voter, ids[int(v.statement_id)], vote, _when(v.created_ms, at), imported=True)
                except errors.AlreadyRecorded:
                    skipped += 1  # Polis keeps repeated identical votes; the engine records a change once
                    continue
                # A new voter joins with their first vote of the batch, not again with each later one.
                if voter.key in joined:
                    new = [e for e in new if e.kind is not EventKind.JOINED]
                joined.add(voter.key)
                events.extend(new)
            return events

        try:
            change = await rt.act(guild_id, d_id, decide)
        except errors.AlreadyRecorded:
            continue
        stored += sum(1 for e in change.events if e.kind is EventKind.VOTE_CAST)
    # Polis moderates comments out after people voted on them; so does the import, at the end.
    moderated_out = [ids[int(c.comment_id)] for c in export.comments if c.moderated < 0 and int(c.comment_id) in ids]
    for statement in moderated_out:

        def hide(d: Deliberation, at: datetime, s: int = statement) -> list[Event]:
            return d.moderate(moderator, s, True, at)

        await rt.act(guild_id, d_id, hide)
    return ImportReport(d_id, len(ids), stored, len(moderated_out), duplicates, skipped)


def _batches(votes: list[StatementVote], size: int) -> Iterator[list[StatementVote]]:
    """Batches in order in which no voter votes twice on one statement, so each vote is checked
    against the state that really precedes it."""
    batch: list[StatementVote] = []
    keys: set[tuple[int, int]] = set()
    for v in votes:
        key = (int(v.participant_id), int(v.statement_id))
        if len(batch) >= size or key in keys:
            yield batch
            batch, keys = [], set()
        batch.append(v)
        keys.add(key)
    if batch:
        yield batch


def export_polis(d: Deliberation, directory: Path) -> int:
    """Write a deliberation's statements (positions and statements) and votes as Polis CSV; returns rows."""
    members: dict[str, int] = {}

    def number(key: str) -> int:
        # Polis ids are small integers in order of appearance; members stay unnamed.
        return members.setdefault(key, len(members))

    comments = [
        PolisComment(
            comment_id=c.id,
            author_id=number(c.author),
            body=c.text if c.stance is None else f"{c.stance}: {c.text}",
            created_ms=int(c.at.timestamp() * 1000),
        )
        for c in d.statements()
    ]
    votes = [
        StatementVote(number(v.member), v.statement_id, VOTE_NUMBERS[v.vote], int(v.at.timestamp() * 1000))
        for v in d.vote_history
    ]
    write_polis_export(directory, comments, votes)
    return len(comments) + len(votes)
