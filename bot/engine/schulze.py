"""The Schulze method: the group's preferred candidates from ranked ballots.

Pure and generic: candidates are any hashable ids (the engine passes draft numbers), a ballot
ranks some or all of them, best first. A candidate a ballot leaves out ranks below every one it
names, tied with the others left out (so a ballot naming one draft says "this one over the
rest"). Ties are never broken: several winners are reported as a tie.

1. The pairwise preference matrix: `d[a][b]` is how many ballots rank `a` above `b`.
2. The strongest paths (winning votes): a link `a -> b` is as strong as `d[a][b]` when more ballots
   prefer `a` to `b` than `b` to `a`, else absent (0); a path is as strong as its weakest link, and
   `p[a][b]` is the strongest path from `a` to `b` (a widest-path Floyd-Warshall).
3. `a` is ahead of `b` when `p[a][b] > p[b][a]`; this relation is transitive (Schulze 2011), so the
   winners are those nobody is ahead of, and the full order is those tiers in turn.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class SchulzeResult(Generic[C]):
    """What the ballots say, in the candidates' own order (`candidates`)."""

    candidates: tuple[C, ...]
    ballots: int
    # preferences[i][j]: ballots ranking candidates[i] above candidates[j].
    preferences: tuple[tuple[int, ...], ...]
    # strongest[i][j]: the strength of the strongest path from candidates[i] to candidates[j].
    strongest: tuple[tuple[int, ...], ...]
    winners: tuple[C, ...]  # more than one is a tie, never broken
    order: tuple[tuple[C, ...], ...]  # tiers, best first; candidates in one tier are tied

    @property
    def tie(self) -> bool:
        return len(self.winners) > 1

    def prefer(self, a: C, b: C) -> int:
        """How many ballots rank `a` above `b`."""
        return self.preferences[self.candidates.index(a)][self.candidates.index(b)]


def preference_matrix(candidates: Sequence[C], ballots: Sequence[Sequence[C]]) -> list[list[int]]:
    """`d[i][j]`: ballots that rank candidates[i] above candidates[j] (unranked below ranked).

    A ballot naming a candidate that is not one of `candidates`, or naming one twice, is a
    programming error here (the engine refuses such ballots before they are stored).
    """
    index = {c: i for i, c in enumerate(candidates)}
    if len(index) != len(candidates):
        raise ValueError("a candidate is listed twice")
    n = len(candidates)
    d = [[0] * n for _ in range(n)]
    for ballot in ballots:
        places = [index[c] for c in ballot]  # KeyError for an unknown candidate
        if len(set(places)) != len(places):
            raise ValueError("a ballot ranks a candidate twice")
        ranked = set(places)
        unranked = [j for j in range(n) if j not in ranked]
        for pos, i in enumerate(places):
            for j in places[pos + 1 :]:
                d[i][j] += 1
            for j in unranked:
                d[i][j] += 1
    return d


def strongest_paths(d: Sequence[Sequence[int]]) -> list[list[int]]:
    """`p[i][j]`: the strongest path from i to j over winning-votes links (widest-path Floyd-Warshall)."""
    n = len(d)
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            if i == k:
                continue
            via = p[i][k]
            if not via:
                continue
            row, through = p[i], p[k]
            for j in range(n):
                if j != i and j != k:
                    width = min(via, through[j])
                    if width > row[j]:
                        row[j] = width
    return p


def schulze(candidates: Sequence[C], ballots: Sequence[Sequence[C]]) -> SchulzeResult[C]:
    """The Schulze winners (a tie when several) and full order of `candidates` from `ballots`."""
    cands = tuple(candidates)
    d = preference_matrix(cands, ballots)
    p = strongest_paths(d)
    remaining = list(range(len(cands)))
    order: list[tuple[C, ...]] = []
    while remaining:
        # Those nobody still in play is ahead of; never empty, the relation being a strict order.
        tier = [i for i in remaining if not any(p[j][i] > p[i][j] for j in remaining if j != i)]
        order.append(tuple(cands[i] for i in tier))
        remaining = [i for i in remaining if i not in tier]
    return SchulzeResult(
        candidates=cands,
        ballots=len(ballots),
        preferences=tuple(tuple(row) for row in d),
        strongest=tuple(tuple(row) for row in p),
        winners=order[0] if order else (),
        order=tuple(order),
    )


__all__ = ["SchulzeResult", "preference_matrix", "schulze", "strongest_paths"]
