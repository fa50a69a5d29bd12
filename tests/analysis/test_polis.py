"""The four real Polis conversations: load, find Polis's in-group rule, match its groups.

ARI floors sit just under the values measured when this was written (see
docs/benchmarks.md), so any regression in the clustering fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analysis import StatementVote, analyze
from bot.analysis.polis_export import (
    PolisComment,
    ari_against_polis,
    infer_in_group_rule,
    read_polis_export,
    write_polis_export,
)

# conversation: (ARI floor, Polis's number of groups, in-group min votes, replayed)
EXPECTED = {
    "15-per-hour-seattle": (0.99, 2, 7, False),
    # Silhouette picks 3 groups where Polis showed 2; no documented Polis rule gives 2 from
    # these votes (see docs/benchmarks.md).
    "brexit-consensus": (0.65, 2, 2, True),
    # Two boundary participants follow their base cluster; Polis's base clusters depend on
    # its update history, which the export does not hold (see docs/benchmarks.md).
    "canadian-electoral-reform": (0.92, 2, 7, False),
    # No rule or projection reproduces scoop's four groups (see docs/benchmarks.md); the
    # floor only guards against getting worse.
    "scoop-hivemind.ubi": (0.06, 4, 1, False),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_conversation_clusters_like_polis(polis_dir: Path, name: str) -> None:
    floor, polis_k, min_votes, replay = EXPECTED[name]
    export = read_polis_export(polis_dir / name)
    assert export.votes
    assert export.comments
    assert len(set(export.polis_groups.values())) == polis_k

    fit = infer_in_group_rule(export)
    assert fit.exact, f"no candidate rule reproduces who Polis clustered: {fit}"
    assert (fit.rule.min_votes, fit.rule.replay) == (min_votes, replay)

    result = analyze(export.votes, export.moderated_out, rule=fit.rule)
    assert result.reason is None
    assert set(result.assignments) == set(export.polis_groups)
    assert ari_against_polis(export, result.assignments) >= floor


def test_reader_applies_latest_vote_and_moderation(polis_dir: Path) -> None:
    export = read_polis_export(polis_dir / "15-per-hour-seattle")
    stamps = [v.created_ms or 0 for v in export.votes]
    assert stamps == sorted(stamps)
    assert export.moderated_out, "this conversation has moderated-out comments"
    result = analyze(export.votes, export.moderated_out)
    assert {s.statement_id for s in result.statements}.isdisjoint(export.moderated_out)


def test_writer_round_trips_through_the_reader(tmp_path: Path) -> None:
    comments = [
        PolisComment(0, 10, 'Plain, with a comma and "quotes"', created_ms=1_500_000_000_000),
        PolisComment(1, 11, "Line one\nline two", moderated=-1, created_ms=1_500_000_001_000),
    ]
    votes = [
        StatementVote(10, 0, 1, 1_500_000_002_000),
        StatementVote(11, 0, -1, 1_500_000_003_000),
        StatementVote(11, 0, 1, 1_500_000_004_000),
        StatementVote(12, 1, 0, 1_500_000_005_000),
    ]
    write_polis_export(tmp_path, comments, votes)
    export = read_polis_export(tmp_path)
    assert [c.body for c in export.comments] == [c.body for c in comments]
    assert export.comments[0].agrees == 2
    assert export.comments[0].disagrees == 0
    assert export.moderated_out == frozenset({1})
    assert export.votes == tuple(votes)
    header = (tmp_path / "votes.csv").read_text().splitlines()[0]
    assert header == "timestamp,datetime,comment-id,voter-id,vote"
