"""The dissent analysis: opinion groups plus what unites and what divides them.

`analyze()` is the one entry point the bot (and the CLI) needs. It takes plain votes
and returns a plain, frozen result; the caller keeps `result.smoother` and hands it back
on the next recomputation so the number of groups does not flicker.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from bot.analysis.groups import (
    POLIS_RULE,
    InGroupRule,
    KSmoother,
    cluster,
    in_group_rows,
    project,
)
from bot.analysis.matrix import Id, StatementVote, VoteLike, VoteMatrix, build_vote_matrix
from bot.analysis.statements import (
    MajorityStatement,
    Representative,
    StatementStats,
    consensus_order,
    divisive_order,
    group_counts,
    majority,
    representative,
    statement_stats,
)

MIN_STATEMENTS = 2
"""Two principal components need at least two statements."""
MIN_CLUSTERED = 4
"""Two groups and a silhouette need at least three distinct positions; below four
clustered people a 'group' would be one or two individuals, which is not a finding."""


@dataclass(frozen=True, slots=True)
class OpinionGroup:
    """Participants who vote alike, with the statements that set them apart."""

    group_id: int
    members: tuple[Id, ...]
    representative: tuple[Representative, ...]


@dataclass(frozen=True, eq=False)
class DissentAnalysis:
    """Everything the dissent map shows. `reason` is set (and `groups` empty) when the
    input is too small for opinion groups to mean anything."""

    reason: str | None
    groups: tuple[OpinionGroup, ...]
    assignments: Mapping[Id, int]
    left_out: Mapping[Id, str]
    statements: tuple[StatementStats, ...]
    consensus: tuple[Id, ...]
    """Statements every group leans towards, highest group-informed consensus first."""
    divisive: tuple[Id, ...]
    """Statements groups split on, most divisive first."""
    majority: tuple[MajorityStatement, ...]
    participant_xy: Mapping[Id, tuple[float, float]] = field(repr=False)
    statement_xy: Mapping[Id, tuple[float, float]] = field(repr=False)
    smoother: KSmoother = field(default_factory=KSmoother)
    silhouettes: Mapping[int, float] = field(default_factory=dict)
    rule: InGroupRule = POLIS_RULE

    @property
    def k(self) -> int:
        return len(self.groups)


def analyze(
    votes: Iterable[VoteLike],
    moderated_out: Collection[Id] = frozenset(),
    *,
    rule: InGroupRule = POLIS_RULE,
    smoother: KSmoother | None = None,
    force_k: int | None = None,
) -> DissentAnalysis:
    """Compute opinion groups, consensus and division from votes given in time order.

    AI participants' votes must not be passed in: the analysis counts whoever votes.
    """
    vote_list = list(votes)
    matrix = build_vote_matrix(vote_list, moderated_out)
    stream = None
    if rule.replay:
        stream = [
            (v.participant_id, v.statement_id) if isinstance(v, StatementVote) else (v[0], v[1]) for v in vote_list
        ]
    result = analyze_matrix(matrix, rule=rule, smoother=smoother, force_k=force_k, stream=stream)
    # People whose every vote was on a moderated-out statement are not in the matrix;
    # report them rather than let them vanish.
    voters = {v.participant_id if isinstance(v, StatementVote) else v[0] for v in vote_list}
    unseen = voters.difference(matrix.participant_ids)
    if unseen:
        left_out = dict(result.left_out)
        left_out.update(dict.fromkeys(unseen, "voted only on moderated-out statements"))
        result = replace(result, left_out=left_out)
    return result


def analyze_matrix(
    matrix: VoteMatrix,
    *,
    rule: InGroupRule = POLIS_RULE,
    smoother: KSmoother | None = None,
    force_k: int | None = None,
    stream: Iterable[tuple[Id, Id]] | None = None,
) -> DissentAnalysis:
    """`analyze()` on an already built matrix (the benchmark times both)."""
    smoother = smoother or KSmoother()
    n_p, n_s = matrix.shape
    proj = project(matrix)
    pxy = {pid: (float(x), float(y)) for pid, (x, y) in zip(matrix.participant_ids, proj.participants, strict=True)}
    sxy = {sid: (float(x), float(y)) for sid, (x, y) in zip(matrix.statement_ids, proj.statements, strict=True)}
    rows = in_group_rows(matrix, rule, stream) if n_p and n_s else np.zeros(0, dtype=np.int64)
    counts = matrix.vote_counts()
    needed = min(rule.min_votes, n_s)
    in_rows = set(rows.tolist())
    left_out = {
        matrix.participant_ids[r]: f"voted on {counts[r]} statement(s); clustering needs {needed}"
        for r in range(n_p)
        if r not in in_rows
    }

    reason: str | None = None
    clustering = None
    if n_s < MIN_STATEMENTS:
        reason = f"too few statements with votes: {n_s} (opinion groups need {MIN_STATEMENTS})"
    elif len(rows) < MIN_CLUSTERED:
        reason = f"too few participants to cluster: {len(rows)} (opinion groups need {MIN_CLUSTERED})"
    else:
        clustering = cluster(proj.participants, rows, smoother, force_k)
        if clustering is None:
            reason = "participants vote too much alike for opinion groups"

    values = matrix.values
    if clustering is None:
        assert reason is not None
        for r in rows.tolist():
            left_out[matrix.participant_ids[r]] = reason
        # One group of everyone keeps consensus meaningful without inventing division.
        counts_g = group_counts(values, np.zeros(n_p, dtype=np.int64), 1)
        stats = statement_stats(matrix.statement_ids, values, counts_g)
        return DissentAnalysis(
            reason=reason,
            groups=(),
            assignments={},
            left_out=left_out,
            statements=stats,
            consensus=consensus_order(stats),
            divisive=(),
            majority=majority(matrix.statement_ids, values),
            participant_xy=pxy,
            statement_xy=sxy,
            smoother=smoother,
            rule=rule,
        )

    k = int(clustering.labels.max()) + 1
    counts_g = group_counts(values[clustering.rows], clustering.labels, k)
    stats = statement_stats(matrix.statement_ids, values, counts_g)
    reps = representative(matrix.statement_ids, counts_g)
    assignments = {
        matrix.participant_ids[r]: int(g)
        for r, g in zip(clustering.rows.tolist(), clustering.labels.tolist(), strict=True)
    }
    groups = tuple(
        OpinionGroup(
            g,
            tuple(matrix.participant_ids[r] for r in clustering.rows[clustering.labels == g]),
            reps[g],
        )
        for g in range(k)
    )
    return DissentAnalysis(
        reason=None,
        groups=groups,
        assignments=assignments,
        left_out=left_out,
        statements=stats,
        consensus=consensus_order(stats),
        divisive=divisive_order(stats),
        majority=majority(matrix.statement_ids, values),
        participant_xy=pxy,
        statement_xy=sxy,
        smoother=clustering.smoother,
        silhouettes=dict(clustering.silhouettes),
        rule=rule,
    )
