"""Shared helpers for the analysis tests: planted-structure votes and the Polis data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

POLIS_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "polis"
"""`<repo>/../shared/data/polis`: real Polis exports, read in place, never copied."""

CONVERSATIONS = (
    "15-per-hour-seattle",
    "brexit-consensus",
    "canadian-electoral-reform",
    "scoop-hivemind.ubi",
)


PlantedVotes = Callable[..., tuple[list[tuple[int, int, int]], dict[int, int]]]


def planted_votes(
    group_sizes: tuple[int, ...],
    n_statements: int,
    *,
    consensus: tuple[int, ...] = (),
    divisive: tuple[int, ...] = (),
    seen: float = 0.85,
    lean: float = 0.85,
    passes: float = 0.05,
    seed: int = 1,
) -> tuple[list[tuple[int, int, int]], dict[int, int]]:
    """Votes from groups that each own a block of statements, plus planted statements.

    A group agrees with its own block with probability `lean` and with the others'
    blocks with probability 1 - `lean`; `consensus` statements are agreed by everyone
    (97%), `divisive` ones agreed by all of group 0 and disagreed by everyone else.
    Returns votes in a shuffled time order and the true group of every participant.
    """
    rng = np.random.default_rng(seed)
    k = len(group_sizes)
    p_agree = np.full((k, n_statements), 1.0 - lean)
    for g in range(k):
        p_agree[g, np.arange(n_statements) % k == g] = lean
    for s in consensus:
        p_agree[:, s] = 0.97
    for s in divisive:
        p_agree[0, s], p_agree[1:, s] = 1.0, 0.0
    planted = set(consensus) | set(divisive)
    votes: list[tuple[int, int, int]] = []
    truth: dict[int, int] = {}
    pid = 0
    for g, size in enumerate(group_sizes):
        for _ in range(size):
            truth[pid] = g
            for s in range(n_statements):
                if s not in planted and rng.random() > seen:
                    continue
                if s not in planted and rng.random() < passes:
                    votes.append((pid, s, 0))
                else:
                    votes.append((pid, s, 1 if rng.random() < p_agree[g, s] else -1))
            pid += 1
    order = rng.permutation(len(votes))
    return [votes[i] for i in order], truth


@pytest.fixture(name="planted")
def planted_fixture() -> PlantedVotes:
    """The planted-structure generator, as a fixture so test modules need no imports."""
    return planted_votes


@pytest.fixture(scope="session")
def polis_dir() -> Path:
    assert POLIS_DATA.is_dir(), f"Polis open data expected at {POLIS_DATA}"
    return POLIS_DATA
