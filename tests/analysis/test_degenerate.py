"""Inputs too small or too uniform for groups say so; large inputs stay fast."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bot.analysis import StatementVote, analyze


def test_one_voter_gives_a_reason_not_groups() -> None:
    result = analyze([(1, s, 1) for s in range(10)])
    assert result.groups == ()
    assert result.reason is not None
    assert "participants" in result.reason
    assert set(result.left_out) == {1}


def test_one_statement_gives_a_reason() -> None:
    result = analyze([(p, "s1", 1 if p % 2 else -1) for p in range(30)])
    assert result.groups == ()
    assert result.reason is not None
    assert "statements" in result.reason
    assert result.statements[0].seen == 30


def test_all_passes_give_a_reason() -> None:
    result = analyze([(p, s, 0) for p in range(20) for s in range(8)])
    assert result.groups == ()
    assert result.reason is not None
    assert result.divisive == ()


def test_identical_voters_are_not_split_into_groups() -> None:
    pattern = [1, -1, 1, 1, -1, 0, 1, -1]
    result = analyze([(p, s, v) for p in range(25) for s, v in enumerate(pattern)])
    assert result.groups == ()
    assert result.reason is not None
    assert "alike" in result.reason


def test_empty_input() -> None:
    result = analyze([])
    assert result.reason is not None
    assert result.statements == ()


def test_invalid_vote_is_rejected() -> None:
    with pytest.raises(ValueError, match="vote"):
        analyze([(1, 1, 2)])


def test_hundred_thousand_votes_are_fast() -> None:
    rng = np.random.default_rng(0)
    n_p, n_s = 2000, 50
    p_agree = np.where(rng.random((2, n_s)) < 0.5, 0.85, 0.15)
    group = rng.integers(0, 2, n_p)
    agrees = rng.random((n_p, n_s)) < p_agree[group]
    votes = [StatementVote(p, s, 1 if agrees[p, s] else -1) for p in range(n_p) for s in range(n_s)]
    assert len(votes) == 100_000
    start = time.perf_counter()
    result = analyze(votes)
    elapsed = time.perf_counter() - start
    assert result.k >= 2
    assert elapsed < 3.0, f"100,000 votes took {elapsed:.2f}s"
