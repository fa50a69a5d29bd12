"""Read and write Polis's CSV export format (comments.csv, votes.csv, participants-votes.csv).

Reading lets us check our opinion groups against the groups Polis itself assigned;
writing lets a community take a Roundtable deliberation's statements and votes to any
tool that understands Polis exports.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from bot.analysis.groups import POLIS_RULE, InGroupRule, in_group_rows
from bot.analysis.matrix import AGREE, DISAGREE, Id, StatementVote, build_vote_matrix

MODERATED_OUT = -1
"""Polis's `moderated` value for a rejected statement (1 accepted, 0 not yet moderated)."""

COMMENT_FIELDS = (
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
)
VOTE_FIELDS = ("timestamp", "datetime", "comment-id", "voter-id", "vote")


@dataclass(frozen=True, slots=True)
class PolisComment:
    """A statement as Polis exports it."""

    comment_id: Id
    author_id: Id
    body: str
    moderated: int = 1
    created_ms: int | None = None
    agrees: int = 0
    disagrees: int = 0


@dataclass(frozen=True, eq=False)
class PolisExport:
    """One conversation: statements, votes in time order, and the groups Polis assigned."""

    name: str
    comments: tuple[PolisComment, ...]
    votes: tuple[StatementVote, ...] = field(repr=False)
    polis_groups: Mapping[int, int] = field(repr=False)
    """Participant → Polis group id, for participants Polis clustered."""
    participants: tuple[int, ...] = field(repr=False)
    """Every participant listed in participants-votes.csv."""

    @property
    def moderated_out(self) -> frozenset[Id]:
        return frozenset(c.comment_id for c in self.comments if c.moderated == MODERATED_OUT)


def read_polis_export(directory: Path | str) -> PolisExport:
    """Load a Polis export directory; votes come back sorted by timestamp (stable)."""
    root = Path(directory)
    with (root / "comments.csv").open(newline="", encoding="utf-8") as fh:
        comments = tuple(
            PolisComment(
                comment_id=int(row["comment-id"]),
                author_id=int(row["author-id"]),
                body=row["comment-body"],
                moderated=int(row["moderated"]),
                created_ms=int(row["timestamp"]) if row.get("timestamp") else None,
                agrees=int(row.get("agrees") or 0),
                disagrees=int(row.get("disagrees") or 0),
            )
            for row in csv.DictReader(fh)
        )
    with (root / "votes.csv").open(newline="", encoding="utf-8") as fh:
        raw = [
            StatementVote(
                int(row["voter-id"]),
                int(row["comment-id"]),
                int(row["vote"]),
                int(row["timestamp"]),
            )
            for row in csv.DictReader(fh)
        ]
    votes = tuple(sorted(raw, key=lambda v: v.created_ms or 0))
    groups: dict[int, int] = {}
    participants: list[int] = []
    pv_path = root / "participants-votes.csv"
    if pv_path.exists():
        with pv_path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                pid = int(row["participant"])
                participants.append(pid)
                if (row.get("group-id") or "").strip():
                    groups[pid] = int(row["group-id"])
    return PolisExport(root.name, comments, votes, groups, tuple(participants))


def candidate_rules() -> tuple[InGroupRule, ...]:
    """In-group rules Polis has used or plausibly used, today's first."""
    rules = [POLIS_RULE]
    for replay in (False, True):
        for min_votes in range(1, 8):
            rule = InGroupRule(min_votes=min_votes, replay=replay)
            if rule not in rules:
                rules.append(rule)
    return tuple(rules)


@dataclass(frozen=True, slots=True)
class RuleFit:
    """How well an in-group rule reproduces the set of participants Polis clustered."""

    rule: InGroupRule
    extra: int
    """Clustered by the rule but not by Polis."""
    missing: int
    """Clustered by Polis but not by the rule."""

    @property
    def exact(self) -> bool:
        return self.extra == 0 and self.missing == 0


def infer_in_group_rule(export: PolisExport) -> RuleFit:
    """Find the in-group rule whose clustered set best matches Polis's grouped participants.

    Older Polis versions admitted participants to clustering differently; the export
    does not say how, but which participants carry a group id does. The first rule
    with the fewest mismatches wins, so today's rule is preferred when it fits.
    """
    matrix = build_vote_matrix(export.votes, export.moderated_out)
    stream = [(v.participant_id, v.statement_id) for v in export.votes]
    grouped = set(export.polis_groups)
    best: RuleFit | None = None
    for rule in candidate_rules():
        rows = in_group_rows(matrix, rule, stream)
        chosen = {matrix.participant_ids[r] for r in rows}
        fit = RuleFit(rule, len(chosen - grouped), len(grouped - chosen))
        if best is None or fit.extra + fit.missing < best.extra + best.missing:
            best = fit
    assert best is not None
    return best


def _stamp(ms: int | None) -> tuple[str, str]:
    if ms is None:
        return "", ""
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return str(ms), when.strftime("%a %b %d %H:%M:%S UTC %Y")


def write_polis_export(
    directory: Path | str,
    comments: Sequence[PolisComment],
    votes: Iterable[StatementVote],
) -> None:
    """Write comments.csv and votes.csv in Polis's export layout.

    Agree and disagree counts in comments.csv are recomputed from the latest vote of
    each participant, as Polis's own export does; ids are written as given (Polis's
    own tools expect integers).
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    vote_list = list(votes)
    latest: dict[tuple[Id, Id], int] = {}
    for v in vote_list:
        latest[(v.participant_id, v.statement_id)] = v.vote
    agrees: dict[Id, int] = {}
    disagrees: dict[Id, int] = {}
    for (_, sid), vote in latest.items():
        if vote == AGREE:
            agrees[sid] = agrees.get(sid, 0) + 1
        elif vote == DISAGREE:
            disagrees[sid] = disagrees.get(sid, 0) + 1
    with (root / "comments.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COMMENT_FIELDS)
        for c in comments:
            ts, dt = _stamp(c.created_ms)
            out.writerow(
                [
                    ts,
                    dt,
                    c.comment_id,
                    c.author_id,
                    agrees.get(c.comment_id, 0),
                    disagrees.get(c.comment_id, 0),
                    c.moderated,
                    c.body,
                ]
            )
    with (root / "votes.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(VOTE_FIELDS)
        for v in vote_list:
            ts, dt = _stamp(v.created_ms)
            out.writerow([ts, dt, v.statement_id, v.participant_id, v.vote])


def ari_against_polis(export: PolisExport, assignments: Mapping[Id, int]) -> float:
    """Adjusted Rand index between our groups and Polis's, over everyone Polis grouped.

    Someone Polis grouped but we left out counts as a group of their own (-1), so a
    different in-group rule lowers the score instead of being silently ignored.
    """
    ids = sorted(export.polis_groups)
    ours = [assignments.get(pid, -1) for pid in ids]
    return float(adjusted_rand_score([export.polis_groups[pid] for pid in ids], ours))
