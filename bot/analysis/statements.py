"""Per-statement figures: group-informed consensus, representativeness, majority, division.

Formulas are polismath's (`repness.clj`, `stats.clj`, `conversation.clj`), including its
pseudo-counts: every probability is (count + 1) / (seen + 2), so that a statement two
people saw is not reported as unanimous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from bot.analysis.matrix import Id

FloatArray = NDArray[np.float64]
Z_90 = 1.2815515655446004
"""One-sided 90% critical value: Polis's `z-sig-90?`."""
PICK_MAX = 5
"""Polis keeps at most five representative (and five majority) statements."""

Direction = Literal["agree", "disagree"]


def prop_test(succ: FloatArray, n: FloatArray) -> FloatArray:
    """Polis's one-proportion z-score against 0.5, with a pseudo-count on both counts."""
    succ, n = succ + 1.0, n + 1.0
    return 2.0 * np.sqrt(n) * (succ / n - 0.5)


def two_prop_test(succ_in: FloatArray, succ_out: FloatArray, n_in: FloatArray, n_out: FloatArray) -> FloatArray:
    """Polis's two-proportion z-score (group vs the rest), pseudo-counted; 0 if undefined."""
    s1, s2, n1, n2 = succ_in + 1.0, succ_out + 1.0, n_in + 1.0, n_out + 1.0
    pi1, pi2 = s1 / n1, s2 / n2
    pi_hat = (s1 + s2) / (n1 + n2)
    denom = np.sqrt(pi_hat * (1.0 - pi_hat) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (pi1 - pi2) / denom
    return np.where((pi_hat >= 1.0) | (denom == 0), 0.0, z)


@dataclass(frozen=True, slots=True)
class Representative:
    """A statement that sets one group apart (Polis's repness entry)."""

    statement_id: Id
    repful_for: Direction
    n_success: int
    n_trials: int
    p_success: float
    p_test: float
    repness: float
    repness_test: float
    best_agree: bool = False


@dataclass(frozen=True, slots=True)
class StatementStats:
    """Counts and scores for one statement; group tuples follow group ids 0..k-1."""

    statement_id: Id
    agree: int
    disagree: int
    seen: int
    group_agree: tuple[int, ...]
    group_disagree: tuple[int, ...]
    group_seen: tuple[int, ...]
    group_informed_consensus: float
    """Product over groups of (agree + 1) / (seen + 2): high only if every group agrees."""
    divisiveness: float
    """Half the spread across groups of P(agree) − P(disagree): 0 when groups vote alike,
    near 1 when one group agrees and another disagrees unanimously."""


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """Agree / disagree / seen counts per group (rows) and statement (columns)."""

    agree: FloatArray
    disagree: FloatArray
    seen: FloatArray


def group_counts(values: FloatArray, labels: NDArray[np.int64], k: int) -> GroupCounts:
    """Count votes per group; `values` rows are the clustered participants, NaN = unseen."""
    agree = np.zeros((k, values.shape[1]))
    disagree = np.zeros_like(agree)
    seen = np.zeros_like(agree)
    for g in range(k):
        block = values[labels == g]
        agree[g] = (block == 1).sum(axis=0)
        disagree[g] = (block == -1).sum(axis=0)
        seen[g] = (~np.isnan(block)).sum(axis=0)
    return GroupCounts(agree, disagree, seen)


def statement_stats(
    statement_ids: tuple[Id, ...], everyone: FloatArray, counts: GroupCounts
) -> tuple[StatementStats, ...]:
    """Per-statement totals (over `everyone`) and group figures (over the groups)."""
    pa = (counts.agree + 1.0) / (counts.seen + 2.0)
    pd = (counts.disagree + 1.0) / (counts.seen + 2.0)
    gic = pa.prod(axis=0)
    lean = pa - pd
    spread = (lean.max(axis=0) - lean.min(axis=0)) / 2.0
    agree = (everyone == 1).sum(axis=0)
    disagree = (everyone == -1).sum(axis=0)
    seen = (~np.isnan(everyone)).sum(axis=0)
    as_int = counts.agree.astype(int), counts.disagree.astype(int), counts.seen.astype(int)
    return tuple(
        StatementStats(
            statement_id=sid,
            agree=int(agree[j]),
            disagree=int(disagree[j]),
            seen=int(seen[j]),
            group_agree=tuple(int(x) for x in as_int[0][:, j]),
            group_disagree=tuple(int(x) for x in as_int[1][:, j]),
            group_seen=tuple(int(x) for x in as_int[2][:, j]),
            group_informed_consensus=float(gic[j]),
            divisiveness=float(spread[j]),
        )
        for j, sid in enumerate(statement_ids)
    )


def consensus_order(stats: tuple[StatementStats, ...]) -> tuple[Id, ...]:
    """Statements every group leans towards agreeing with, highest consensus first."""
    uniting = [
        s for s in stats if all((a + 1) / (n + 2) > 0.5 for a, n in zip(s.group_agree, s.group_seen, strict=True))
    ]
    uniting.sort(key=lambda s: -s.group_informed_consensus)
    return tuple(s.statement_id for s in uniting)


def divisive_order(stats: tuple[StatementStats, ...]) -> tuple[Id, ...]:
    """Statements on which some group leans agree and another leans disagree, most split first.

    Needs at least two groups; the pseudo-counts keep a group that barely saw a
    statement from making it look divisive.
    """
    split = []
    for s in stats:
        leans = [(a - d) / (n + 2) for a, d, n in zip(s.group_agree, s.group_disagree, s.group_seen, strict=True)]
        if leans and max(leans) > 0 and min(leans) < 0:
            split.append(s)
    split.sort(key=lambda s: -s.divisiveness)
    return tuple(s.statement_id for s in split)


def representative(statement_ids: tuple[Id, ...], counts: GroupCounts) -> tuple[tuple[Representative, ...], ...]:
    """Polis's `select-rep-comments`: up to five statements per group, best agree first.

    A statement qualifies when both its within-group probability test and its group vs
    rest test pass at 90% (for agree or for disagree). If none qualifies the single best
    by test is kept, so every group has something to show.
    """
    k = counts.agree.shape[0]
    out: list[tuple[Representative, ...]] = []
    for g in range(k):
        rest = [h for h in range(k) if h != g]
        na, nd, ns = counts.agree[g], counts.disagree[g], counts.seen[g]
        ra_n, rd_n, rs_n = (
            counts.agree[rest].sum(axis=0),
            counts.disagree[rest].sum(axis=0),
            counts.seen[rest].sum(axis=0),
        )
        pa, pd = (na + 1) / (ns + 2), (nd + 1) / (ns + 2)
        pat, pdt = prop_test(na, ns), prop_test(nd, ns)
        ra, rd = pa / ((ra_n + 1) / (rs_n + 2)), pd / ((rd_n + 1) / (rs_n + 2))
        rat, rdt = two_prop_test(na, ra_n, ns, rs_n), two_prop_test(nd, rd_n, ns, rs_n)

        sides = (
            np.stack([na, ns, pa, pat, ra, rat]),
            np.stack([nd, ns, pd, pdt, rd, rdt]),
        )

        def finalize(j: int, best: bool = False, sides: tuple[FloatArray, FloatArray] = sides) -> Representative:
            return _finalize(statement_ids[j], j, sides, best)

        sufficient = [
            j
            for j in range(len(statement_ids))
            if (rat[j] > Z_90 and pat[j] > Z_90) or (rdt[j] > Z_90 and pdt[j] > Z_90)
        ]
        best_agree: int | None = None
        for j in range(len(statement_ids)):
            if na[j] == 0 and nd[j] == 0:
                continue
            if best_agree is None:
                if pat[j] > Z_90 or (ra[j] > 1.0 and pa[j] > 0.5):
                    best_agree = j
            elif ra[best_agree] > 1.0:
                if ra[j] * rat[j] * pa[j] * pat[j] > (
                    ra[best_agree] * rat[best_agree] * pa[best_agree] * pat[best_agree]
                ):
                    best_agree = j
            elif pa[j] * pat[j] > pa[best_agree] * pat[best_agree]:
                best_agree = j
        head = [finalize(best_agree, best=True)] if best_agree is not None else []
        if not sufficient:
            if not head and len(statement_ids):
                head = [finalize(int(np.argmax(np.maximum(rat, rdt))))]
            out.append(tuple(head))
            continue
        chosen = [finalize(j) for j in sufficient if j != best_agree]
        chosen.sort(key=lambda r: -(r.repness * r.repness_test * r.p_success * r.p_test))
        picked = (head + chosen)[:PICK_MAX]
        # Polis lists agrees before disagrees.
        picked.sort(key=lambda r: r.repful_for != "agree")
        out.append(tuple(picked))
    return tuple(out)


def _finalize(sid: Id, j: int, sides: tuple[FloatArray, FloatArray], best_agree: bool) -> Representative:
    """Polis's `finalize-cmt-stats`: report the side (agree/disagree) with the stronger test."""
    agree, disagree = sides
    is_agree = bool(agree[5, j] > disagree[5, j])
    n_success, n_trials, p_success, p_test, rep, rep_test = (agree if is_agree else disagree)[:, j]
    return Representative(
        statement_id=sid,
        repful_for="agree" if is_agree else "disagree",
        n_success=int(n_success),
        n_trials=int(n_trials),
        p_success=float(p_success),
        p_test=float(p_test),
        repness=float(rep),
        repness_test=float(rep_test),
        best_agree=best_agree,
    )


@dataclass(frozen=True, slots=True)
class MajorityStatement:
    """A statement most participants agree (or disagree) with, significantly."""

    statement_id: Id
    direction: Direction
    n_success: int
    n_trials: int
    p_success: float
    p_test: float


def majority(statement_ids: tuple[Id, ...], everyone: FloatArray) -> tuple[MajorityStatement, ...]:
    """Polis's `select-consensus-comments` over all participants: top five each way."""
    na = (everyone == 1).sum(axis=0).astype(float)
    nd = (everyone == -1).sum(axis=0).astype(float)
    ns = (~np.isnan(everyone)).sum(axis=0).astype(float)
    out: list[MajorityStatement] = []
    directions: tuple[tuple[Direction, FloatArray], ...] = (("agree", na), ("disagree", nd))
    for direction, n in directions:
        p = (n + 1) / (ns + 2)
        z = prop_test(n, ns)
        ok = np.flatnonzero((p > 0.5) & (z > Z_90))
        ranked = sorted(ok, key=lambda j: -(p[j] * z[j]))[:PICK_MAX]
        out.extend(
            MajorityStatement(statement_ids[j], direction, int(n[j]), int(ns[j]), float(p[j]), float(z[j]))
            for j in ranked
        )
    return tuple(out)
