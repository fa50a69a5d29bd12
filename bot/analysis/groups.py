"""Opinion groups the way Polis finds them.

The steps follow polismath (`conversation.clj`, `clusters.clj`, `pca.clj`): impute
missing votes with the statement mean, project everyone onto the first two principal
components with Polis's sparsity scaling, admit to clustering only participants who
have voted enough, run k-means into (at most) 100 base clusters, then cluster those
base clusters — weighted by their size — into 2..5 groups and keep the k with the best
silhouette, smoothed over recomputations. Everything is deterministic: k-means is seeded
with the first distinct points, as Polis does, never with a random draw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from bot.analysis.matrix import Id, VoteMatrix

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

BASE_K = 100
"""Polis's number of base clusters (`:base-k`)."""
MAX_GROUPS = 5
"""Polis's `:max-k`."""
BASE_ITERS = 100
GROUP_ITERS = 100
SAME_CLUSTERING_TOLERANCE = 0.01
"""Polis stops k-means once no centre moves by this much (`same-clustering?`)."""
KMEANS_SEED = 20240605
KMEANS_STARTS = 10
"""Seeded k-means++ starts tried beside Polis's own start for the group clustering."""


@dataclass(frozen=True, slots=True)
class InGroupRule:
    """Who is clustered.

    Today's Polis admits a participant once they have voted on `min(min_votes,
    n_statements)` statements and, while fewer than `greedy_n` people qualify, tops the
    set up with the most active voters. With `replay=True` the rule is applied after
    every vote of the stream and membership is sticky ("once in, always in"), as in a
    live Polis conversation; without it the rule is applied once to the final counts,
    as when Polis recomputes a conversation from scratch.
    """

    min_votes: int = 7
    greedy_n: int = 15
    replay: bool = False

    def describe(self) -> str:
        text = f"voted on at least min({self.min_votes}, number of statements) statements"
        if self.greedy_n:
            text += f", topped up with the most active voters while fewer than {self.greedy_n}"
        if self.replay:
            text += ", applied after every vote and sticky"
        return text


POLIS_RULE = InGroupRule()


@dataclass(frozen=True, slots=True)
class KSmoother:
    """Polis's hold-back on the number of groups (`:group-k-smoother`).

    The shown k changes only once the same new k has scored best `buffer` recomputations
    in a row, so that groups do not flicker as votes arrive. The caller keeps the
    returned smoother and passes it to the next recomputation.
    """

    last_k: int | None = None
    last_k_count: int = 0
    smoothed_k: int | None = None
    buffer: int = 4

    def update(self, best_k: int) -> KSmoother:
        count = self.last_k_count + 1 if self.last_k == best_k else 1
        switch = count >= self.buffer or self.smoothed_k is None
        smoothed = best_k if switch else self.smoothed_k
        return replace(self, last_k=best_k, last_k_count=count, smoothed_k=smoothed)


@dataclass(frozen=True, eq=False)
class Projection:
    """Participants and statements in the plane of the first two principal components."""

    participants: FloatArray = field(repr=False)
    statements: FloatArray = field(repr=False)
    explained_variance: tuple[float, float]


@dataclass(frozen=True, eq=False)
class Clustering:
    """Group label per clustered row (indices into the matrix), with how k was chosen."""

    rows: IntArray = field(repr=False)
    labels: IntArray = field(repr=False)
    k: int
    best_k: int
    silhouettes: dict[int, float]
    smoother: KSmoother


def project(matrix: VoteMatrix) -> Projection:
    """PCA of the mean-imputed matrix, with Polis's sparsity-aware participant scaling.

    Imputing the statement mean makes a missing vote contribute nothing after centring;
    Polis then stretches each participant by sqrt(n_statements / n_votes) so that people
    who voted little are not all bunched in the middle.
    """
    values = matrix.values
    n_p, n_s = values.shape
    voted = ~np.isnan(values)
    counts = voted.sum(axis=0)
    means = np.divide(np.where(voted, values, 0.0).sum(axis=0), counts, out=np.zeros(n_s), where=counts > 0)
    centered = np.where(voted, values - means, 0.0)
    comps = np.zeros((2, n_s))
    variance = [0.0, 0.0]
    if n_p and n_s:
        if n_s <= n_p:
            eigval, eigvec = np.linalg.eigh(centered.T @ centered)
            order = np.argsort(eigval)[::-1][:2]
            comps[: len(order)] = eigvec[:, order].T
        else:
            eigval, eigvec = np.linalg.eigh(centered @ centered.T)
            order = np.argsort(eigval)[::-1][:2]
            for i, j in enumerate(order):
                if eigval[j] > 1e-12:
                    vec = centered.T @ eigvec[:, j]
                    comps[i] = vec / np.linalg.norm(vec)
        for i, j in enumerate(order):
            variance[i] = float(max(eigval[j], 0.0)) / max(n_p - 1, 1)
        # Fix each component's sign so the same input always draws the same map.
        for i in range(2):
            pivot = int(np.argmax(np.abs(comps[i])))
            if comps[i, pivot] < 0:
                comps[i] = -comps[i]
    # Polis counts zeroed (moderated-out) columns as votes everyone cast.
    n_mod = matrix.n_moderated_out
    scale = np.sqrt((n_s + n_mod) / np.maximum(voted.sum(axis=1) + n_mod, 1))
    participants = (centered @ comps.T) * scale[:, None]
    # A statement sits where a participant who agreed with it alone would (pca-project-cmnts).
    statements = ((1.0 - means)[:, None] * comps.T) * np.sqrt(n_s + n_mod)
    return Projection(participants, statements, (variance[0], variance[1]))


def in_group_rows(
    matrix: VoteMatrix,
    rule: InGroupRule = POLIS_RULE,
    stream: Iterable[tuple[Id, Id]] | None = None,
) -> IntArray:
    """Row indices of the participants admitted to clustering, in row order.

    `stream` is the (participant, statement) sequence in time order, needed only for
    a replayed rule; votes on statements absent from the matrix are ignored.
    """
    counts = matrix.vote_counts()
    n_s = len(matrix.statement_ids)
    if not rule.replay:
        chosen = counts >= min(rule.min_votes, n_s)
        _top_up(chosen, counts, rule.greedy_n)
        return np.flatnonzero(chosen)
    if stream is None:
        raise ValueError("a replayed in-group rule needs the vote stream")
    row_of = {pid: i for i, pid in enumerate(matrix.participant_ids)}
    known = set(matrix.statement_ids)
    seen_statements: set[Id] = set()
    voted_on: dict[int, set[Id]] = {}
    running = np.zeros(len(row_of), dtype=np.int64)
    chosen = np.zeros(len(row_of), dtype=bool)
    n_chosen = 0
    for pid, sid in stream:
        if sid not in known:
            continue
        seen_statements.add(sid)
        row = row_of[pid]
        mine = voted_on.setdefault(row, set())
        if sid not in mine:
            mine.add(sid)
            running[row] += 1
        if not chosen[row] and running[row] >= min(rule.min_votes, len(seen_statements)):
            chosen[row] = True
            n_chosen += 1
        if n_chosen < rule.greedy_n:
            _top_up(chosen, running, rule.greedy_n)
            n_chosen = int(chosen.sum())
    return np.flatnonzero(chosen)


def _top_up(chosen: NDArray[np.bool_], counts: IntArray, greedy_n: int) -> None:
    """Polis's greedy rule: while fewer than `greedy_n` qualify, add the most active voters."""
    missing = greedy_n - int(chosen.sum())
    if missing <= 0:
        return
    candidates = np.flatnonzero(~chosen & (counts > 0))
    # Stable sort: ties go to whoever voted first, as Polis's sort over row order does.
    best = candidates[np.argsort(-counts[candidates], kind="stable")][:missing]
    chosen[best] = True


def _first_distinct(points: FloatArray, k: int) -> FloatArray:
    """The first k distinct points in order: Polis's `init-clusters`."""
    _, first = np.unique(points, axis=0, return_index=True)
    return points[np.sort(first)[:k]]


def kmeans(
    points: FloatArray,
    centers: FloatArray,
    weights: FloatArray | None = None,
    max_iter: int = 100,
) -> tuple[IntArray, FloatArray]:
    """Weighted Lloyd iterations from the given centres; clusters that empty are dropped."""
    w = np.ones(len(points)) if weights is None else weights
    wx, wy = w * points[:, 0], w * points[:, 1]
    centers = centers.copy()
    for _ in range(max_iter):
        labels = _nearest(points, centers)
        n = len(centers)
        used = np.bincount(labels, minlength=n) > 0
        totals = np.bincount(labels, weights=w, minlength=n)[used]
        new = np.empty((len(totals), 2))
        new[:, 0] = np.bincount(labels, weights=wx, minlength=n)[used] / totals
        new[:, 1] = np.bincount(labels, weights=wy, minlength=n)[used] / totals
        converged = len(new) == n and bool(np.all(((new - centers) ** 2).sum(axis=1) < SAME_CLUSTERING_TOLERANCE**2))
        centers = new
        if converged:
            break
    return _nearest(points, centers), centers


def _best_of_starts(points: FloatArray, weights: FloatArray, k: int) -> IntArray:
    """Weighted k-means from several deterministic starts; the lowest inertia wins.

    Polis starts from the first k distinct points and then, over a conversation's life,
    from its previous clustering, which walks it towards a good optimum. Recomputing
    from scratch has no such history, so we try Polis's start plus seeded k-means++
    starts (fixed seeds: same input, same groups) and keep the tightest result.

    The same history shapes Polis's 100 base clusters (`clean-start-clusters` grows them
    from the last update's clusters), so a participant near a group boundary may share a
    base cluster with different neighbours here than in Polis, and follow them into the
    other group. That history is not in an export; see the `polis` section of
    docs/benchmarks.md for how much it moves the groups on real conversations.
    """
    starts = [_first_distinct(points, k)]
    rng = np.random.default_rng(KMEANS_SEED)
    for _ in range(KMEANS_STARTS):
        starts.append(_kmeans_plus_plus(points, weights, k, rng))
    best_labels: IntArray | None = None
    best_inertia = np.inf
    for start in starts:
        labels, centers = kmeans(points, start, weights, GROUP_ITERS)
        inertia = float((weights * ((points - centers[labels]) ** 2).sum(axis=1)).sum())
        if inertia < best_inertia - 1e-12:
            best_labels, best_inertia = labels, inertia
    assert best_labels is not None
    return best_labels


def _kmeans_plus_plus(points: FloatArray, weights: FloatArray, k: int, rng: np.random.Generator) -> FloatArray:
    """k-means++ seeding, weighting each point by its base cluster's size."""
    first = rng.choice(len(points), p=weights / weights.sum())
    centers = [points[first]]
    d2 = np.full(len(points), np.inf)
    for _ in range(1, k):
        # Nearest chosen centre so far, updated with the newest one only.
        d2 = np.minimum(d2, ((points - centers[-1]) ** 2).sum(axis=1))
        mass = weights * d2
        if mass.sum() <= 0:
            break
        centers.append(points[rng.choice(len(points), p=mass / mass.sum())])
    return np.asarray(centers)


def _nearest(points: FloatArray, centers: FloatArray) -> IntArray:
    dx = points[:, 0, None] - centers[None, :, 0]
    dy = points[:, 1, None] - centers[None, :, 1]
    return np.argmin(dx * dx + dy * dy, axis=1).astype(np.int64)


def _silhouette(distances: FloatArray, labels: IntArray) -> float:
    """Mean silhouette of a clustering from its points' distance matrix (as scikit-learn's
    `silhouette_score`, and Polis's `silhouette`: a member of a one-point cluster scores 0).

    Polis scores every k on the same base clusters, so the caller computes the distance
    matrix once instead of once per k.
    """
    _, labels = np.unique(labels, return_inverse=True)
    k = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    members = np.zeros((len(labels), k))
    members[np.arange(len(labels)), labels] = 1.0
    mean_to = (distances @ members) / sizes
    own = sizes[labels]
    rows = np.arange(len(labels))
    a = mean_to[rows, labels] * own / np.maximum(own - 1.0, 1.0)
    mean_to[rows, labels] = np.inf
    b = mean_to.min(axis=1)
    score = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(score.mean())


def max_groups(n_base: int) -> int:
    """Polis's `max-k-fn`: at most 5 groups, fewer while there are few base clusters."""
    return min(MAX_GROUPS, 2 + n_base // 12)


def cluster(
    xy: FloatArray,
    rows: IntArray,
    smoother: KSmoother | None = None,
    force_k: int | None = None,
) -> Clustering | None:
    """Base clusters, then groups for each k, chosen by silhouette and smoothed.

    Returns None when the clustered points cannot support two groups (fewer than three
    distinct positions), which the caller reports instead of inventing groups.
    """
    smoother = smoother or KSmoother()
    points = xy[rows]
    distinct = np.unique(points, axis=0)
    if len(distinct) < 3:
        return None
    base_labels, base_centers = kmeans(points, _first_distinct(points, BASE_K), max_iter=BASE_ITERS)
    base_sizes = np.bincount(base_labels, minlength=len(base_centers)).astype(np.float64)
    if len(base_centers) < 3:
        return None
    candidates: dict[int, IntArray] = {}
    silhouettes: dict[int, float] = {}
    diff = base_centers[:, None, :] - base_centers[None, :, :]
    distances = np.sqrt((diff**2).sum(axis=2))
    for k in range(2, max_groups(len(base_centers)) + 1):
        if k >= len(base_centers):
            break
        group_of_base = _best_of_starts(base_centers, base_sizes, k)
        if len(np.unique(group_of_base)) < 2:
            continue
        candidates[k] = group_of_base
        # Polis scores each clustering on the base clusters, unweighted.
        silhouettes[k] = _silhouette(distances, group_of_base)
    if not candidates:
        return None
    best_k = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    smoother = smoother.update(best_k)
    k = smoother.smoothed_k if smoother.smoothed_k in candidates else best_k
    if force_k is not None and force_k in candidates:
        k = force_k
    labels = _by_size(candidates[k][base_labels])
    return Clustering(rows, labels, len(np.unique(labels)), best_k, silhouettes, smoother)


def _by_size(labels: IntArray) -> IntArray:
    """Renumber groups largest first (ties by first member) so group 0 is the biggest."""
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-sizes[i], first[i]))
    remap = np.empty(int(ids.max()) + 1, dtype=np.int64)
    for new, old in enumerate(order):
        remap[ids[old]] = new
    return remap[labels]


def silhouette_choice(silhouettes: dict[int, float]) -> Sequence[int]:
    """The k values tried, best silhouette first (for reporting)."""
    return sorted(silhouettes, key=lambda k: (-silhouettes[k], k))
