"""The Schulze method's promises, as properties over any ballots (hypothesis) and worked examples."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.schulze import preference_matrix, schulze

CANDIDATES = st.lists(st.integers(min_value=1, max_value=999), min_size=2, max_size=6, unique=True)


@st.composite
def election(draw: st.DrawFn, *, complete: bool = False) -> tuple[list[int], list[list[int]]]:
    """Candidates and ballots: each ballot ranks all of them, or (unless `complete`) a prefix."""
    candidates = draw(CANDIDATES)
    n = len(candidates)
    ballots = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        order = draw(st.permutations(candidates))
        size = n if complete else draw(st.integers(min_value=1, max_value=n))
        ballots.append(list(order[:size]))
    return candidates, ballots


def condorcet_winner(candidates: list[int], ballots: list[list[int]]) -> int | None:
    d = preference_matrix(candidates, ballots)
    for i, a in enumerate(candidates):
        if all(d[i][j] > d[j][i] for j in range(len(candidates)) if j != i):
            return a
    return None


@given(election())
@settings(max_examples=300)
def test_a_condorcet_winner_always_wins_alone(case: tuple[list[int], list[list[int]]]) -> None:
    candidates, ballots = case
    winner = condorcet_winner(candidates, ballots)
    if winner is not None:
        assert schulze(candidates, ballots).winners == (winner,)


def test_a_condorcet_winner_is_found_where_plurality_would_miss_it() -> None:
    # 3 first choices for #1, 2 for #2, 2 for #3; yet #2 beats #1 (4-3) and #3 (5-2).
    ballots = [[1, 2, 3]] * 3 + [[2, 3, 1]] * 2 + [[3, 2, 1]] * 2
    assert condorcet_winner([1, 2, 3], ballots) == 2
    assert schulze([1, 2, 3], ballots).winners == (2,)


@given(election(), st.randoms(use_true_random=False))
@settings(max_examples=200)
def test_the_order_of_the_ballots_never_matters(case: tuple[list[int], list[list[int]]], rnd: random.Random) -> None:
    candidates, ballots = case
    shuffled = ballots[:]
    rnd.shuffle(shuffled)
    assert schulze(candidates, shuffled) == schulze(candidates, ballots)


@given(st.permutations(list(range(1, 7))), st.integers(min_value=1, max_value=9), st.integers(min_value=2, max_value=6))
def test_identical_complete_ballots_give_exactly_that_order(order: list[int], copies: int, size: int) -> None:
    ballot = order[:size]
    result = schulze(sorted(ballot), [ballot] * copies)
    assert result.order == tuple((c,) for c in ballot)
    assert result.winners == (ballot[0],)
    assert not result.tie


@given(st.permutations(list(range(1, 6))), st.integers(min_value=1, max_value=4), st.integers(min_value=1, max_value=5))
def test_identical_prefix_ballots_give_that_order_then_the_rest_tied(order: list[int], named: int, copies: int) -> None:
    ballot = order[:named]
    result = schulze(list(range(1, 6)), [ballot] * copies)
    assert result.order == (*((c,) for c in ballot), tuple(sorted(order[named:])))


@given(election(), st.data())
@settings(max_examples=200)
def test_renaming_the_candidates_renames_the_result(
    case: tuple[list[int], list[list[int]]], data: st.DataObject
) -> None:
    """Neutrality: the count depends on the ballots, never on which numbers the drafts carry."""
    candidates, ballots = case
    renamed = data.draw(st.permutations([c + 1000 for c in candidates]))
    to = dict(zip(candidates, renamed, strict=True))
    before = schulze(candidates, ballots)
    after = schulze([to[c] for c in candidates], [[to[c] for c in b] for b in ballots])
    assert set(after.winners) == {to[c] for c in before.winners}
    assert [set(t) for t in after.order] == [{to[c] for c in t} for t in before.order]


@given(election())
@settings(max_examples=200)
def test_ties_are_symmetric(case: tuple[list[int], list[list[int]]]) -> None:
    """Swapping two tied winners in every ballot leaves the same tie: neither is favoured."""
    candidates, ballots = case
    result = schulze(candidates, ballots)
    assert result.winners, "there is always at least one winner"
    if result.tie:
        a, b = result.winners[:2]
        swap = {a: b, b: a}
        swapped = [[swap.get(c, c) for c in ballot] for ballot in ballots]
        assert set(schulze(candidates, swapped).winners) == set(result.winners)


@given(election())
@settings(max_examples=200)
def test_a_winner_is_beaten_by_no_one_and_every_loser_by_someone(case: tuple[list[int], list[list[int]]]) -> None:
    candidates, ballots = case
    result = schulze(candidates, ballots)
    p, idx = result.strongest, {c: i for i, c in enumerate(candidates)}
    for w in result.winners:
        assert all(p[idx[w]][j] >= p[j][idx[w]] for j in range(len(candidates)))
    for loser in set(candidates) - set(result.winners):
        assert any(p[j][idx[loser]] > p[idx[loser]][j] for j in range(len(candidates)))
    assert sorted(c for tier in result.order for c in tier) == sorted(candidates)


def test_a_perfect_cycle_is_a_three_way_tie() -> None:
    ballots = [[1, 2, 3], [2, 3, 1], [3, 1, 2]]
    result = schulze([1, 2, 3], ballots)
    assert result.tie
    assert set(result.winners) == {1, 2, 3}
    assert result.order == ((1, 2, 3),)


def test_no_ballots_tie_everyone_and_count_zero() -> None:
    result = schulze([4, 7], [])
    assert result.ballots == 0
    assert result.winners == (4, 7)
    assert result.preferences == ((0, 0), (0, 0))


def test_the_wikipedia_example() -> None:
    """Schulze's own 45-voter example (A..E as 1..5): the winner is E, the order E > A > C > B > D."""
    a, b, c, d, e = 1, 2, 3, 4, 5
    groups = [
        (5, [a, c, b, e, d]),
        (5, [a, d, e, c, b]),
        (8, [b, e, d, a, c]),
        (3, [c, a, b, e, d]),
        (7, [c, a, e, b, d]),
        (2, [c, b, a, d, e]),
        (7, [d, c, e, b, a]),
        (8, [e, b, a, d, c]),
    ]
    ballots = [order for count, order in groups for _ in range(count)]
    result = schulze([a, b, c, d, e], ballots)
    assert result.prefer(a, b) == 20
    assert result.prefer(b, a) == 25
    assert result.winners == (e,)
    assert result.order == ((e,), (a,), (c,), (b,), (d,))
    assert result.strongest[0] == (0, 28, 28, 30, 24)
