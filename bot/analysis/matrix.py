"""The participant × statement vote matrix that every dissent computation starts from.

Input is deliberately plain — `(participant_id, statement_id, vote)` triples in the order
they were cast — so that the engine, a Polis export or a test can all feed it without
this package knowing where votes are stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Id = int | str
"""Participant and statement identifiers: Discord snowflakes, engine ids or Polis ints."""

AGREE, DISAGREE, PASS = 1, -1, 0
_VALID_VOTES = frozenset({AGREE, DISAGREE, PASS})


@dataclass(frozen=True, slots=True)
class StatementVote:
    """One agree (+1) / disagree (-1) / pass (0) vote; `created_ms` only matters for export."""

    participant_id: Id
    statement_id: Id
    vote: int
    created_ms: int | None = None


VoteLike = StatementVote | tuple[Id, Id, int]


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Latest votes as a dense float matrix, NaN where a participant has not voted.

    Rows and columns keep the order in which participants and statements first
    appear in the vote stream: Polis seeds k-means with the first distinct rows, so
    this order is part of what makes the result reproduce Polis's.
    """

    participant_ids: tuple[Id, ...]
    statement_ids: tuple[Id, ...]
    values: NDArray[np.float64] = field(repr=False)
    n_moderated_out: int = 0
    """Moderated-out statements that had votes. Polis zeroes their columns rather than
    dropping them, which leaves them in its sparsity scaling; keeping the count lets the
    projection do the same without the columns."""

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.participant_ids), len(self.statement_ids))

    def vote_counts(self) -> NDArray[np.int64]:
        """Number of statements each participant has voted on (passes included)."""
        return np.count_nonzero(~np.isnan(self.values), axis=1)


def build_vote_matrix(votes: Iterable[VoteLike], moderated_out: Collection[Id] = frozenset()) -> VoteMatrix:
    """Build the matrix from votes in time order; the latest vote per pair counts.

    Votes on moderated-out statements are dropped entirely, as if the statement had
    never been shown: it must neither place people on the map nor count towards
    the votes that admit them to clustering.
    """
    excluded = frozenset(moderated_out)
    p_index: dict[Id, int] = {}
    s_index: dict[Id, int] = {}
    dropped: set[Id] = set()
    rows: list[int] = []
    cols: list[int] = []
    vals: list[int] = []
    for item in votes:
        if isinstance(item, StatementVote):
            pid, sid, vote = item.participant_id, item.statement_id, item.vote
        else:
            pid, sid, vote = item
        if sid in excluded:
            dropped.add(sid)
            continue
        if vote not in _VALID_VOTES:
            raise ValueError(f"vote must be +1, -1 or 0, got {vote!r}")
        row = p_index.get(pid)
        if row is None:
            row = p_index[pid] = len(p_index)
        col = s_index.get(sid)
        if col is None:
            col = s_index[sid] = len(s_index)
        rows.append(row)
        cols.append(col)
        vals.append(vote)
    n_p, n_s = len(p_index), len(s_index)
    values = np.full((n_p, n_s), np.nan)
    if rows:
        flat = np.asarray(rows, dtype=np.int64) * n_s + np.asarray(cols, dtype=np.int64)
        # Keep the last vote per cell: unique() on the reversed stream finds last occurrences.
        _, last_from_end = np.unique(flat[::-1], return_index=True)
        keep = len(flat) - 1 - last_from_end
        values.flat[flat[keep]] = np.asarray(vals, dtype=np.float64)[keep]
    return VoteMatrix(tuple(p_index), tuple(s_index), values, len(dropped))
