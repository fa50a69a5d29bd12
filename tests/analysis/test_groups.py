"""Planted structure is recovered; the k hold-back and determinism behave as Polis's do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sklearn.metrics import adjusted_rand_score

from bot.analysis import KSmoother, analyze

if TYPE_CHECKING:
    from collections.abc import Callable

    PlantedVotes = Callable[..., tuple[list[tuple[int, int, int]], dict[int, int]]]


@pytest.mark.parametrize("sizes", [(40, 30), (40, 30, 25)])
def test_planted_groups_are_recovered(sizes: tuple[int, ...], planted: PlantedVotes) -> None:
    votes, truth = planted(sizes, 24)
    result = analyze(votes)
    assert result.reason is None
    assert result.k == len(sizes)
    ids = sorted(truth)
    ari = adjusted_rand_score([truth[p] for p in ids], [result.assignments[p] for p in ids])
    assert ari > 0.95


def test_planted_consensus_and_divisive_statements_come_first(planted: PlantedVotes) -> None:
    votes, _ = planted((40, 30), 20, consensus=(3, 11), divisive=(7,), seed=4)
    result = analyze(votes)
    assert set(result.consensus[:2]) == {3, 11}
    assert result.divisive[0] == 7
    assert 7 not in result.consensus
    by_id = {s.statement_id: s for s in result.statements}
    assert by_id[3].group_informed_consensus > 0.7
    assert by_id[7].divisiveness > 0.7


def test_each_group_has_representative_statements_of_its_own_side(planted: PlantedVotes) -> None:
    votes, truth = planted((40, 30), 20, seed=5)
    result = analyze(votes)
    for group in result.groups:
        assert group.representative, "Polis always shows at least one statement per group"
        top = group.representative[0]
        # The group's members agree with their best-agree statement far more than the rest.
        assert top.repful_for == "agree"
        assert top.p_success > 0.7
    majority_agree = [m for m in result.majority if m.direction == "agree"]
    assert all(m.p_success > 0.5 for m in majority_agree)
    assert len(truth) == len(result.assignments)


def test_same_input_gives_the_same_groups(planted: PlantedVotes) -> None:
    votes, _ = planted((30, 30, 20), 18, seed=9)
    first, second = analyze(votes), analyze(list(votes))
    assert first.assignments == second.assignments
    assert first.participant_xy == second.participant_xy


def test_latest_vote_counts_and_moderated_statements_are_excluded(planted: PlantedVotes) -> None:
    votes, _ = planted((20, 20), 12, seed=2)
    flipped = [*votes, *[(p, 0, -v) for p, s, v in votes if s == 0]]
    by_id = {s.statement_id: s for s in analyze(flipped).statements}
    original = {s.statement_id: s for s in analyze(votes).statements}
    assert by_id[0].agree == original[0].disagree
    moderated = analyze(votes, moderated_out={0, 1})
    assert {s.statement_id for s in moderated.statements}.isdisjoint({0, 1})


def test_k_is_held_back_until_the_new_k_wins_four_times() -> None:
    smoother = KSmoother().update(2)
    assert smoother.smoothed_k == 2
    for _ in range(3):
        smoother = smoother.update(3)
        assert smoother.smoothed_k == 2
    smoother = smoother.update(3)
    assert smoother.smoothed_k == 3


def test_recomputation_keeps_the_held_back_k(planted: PlantedVotes) -> None:
    two, _ = planted((40, 35), 24, seed=3)
    three, _ = planted((40, 35, 30), 24, seed=3)
    first = analyze(two)
    assert first.k == 2
    again = analyze(three, smoother=first.smoother)
    assert again.smoother.last_k == 3
    assert again.k == 2, "a new k shows only after it has won several recomputations"
    state = again.smoother
    for _ in range(3):
        result = analyze(three, smoother=state)
        state = result.smoother
    assert result.k == 3
