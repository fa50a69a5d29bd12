"""Roundtable's opinion groups against Polis's own and against red-dwarf 0.4.0.

Run: `.venv/bin/python -m bench.polis_bench` (red-dwarf from the `bench` extra:
`pip install -e '.[bench]'`). Replays each conversation in `../shared/data/polis/`,
reports the adjusted Rand index between our groups and the groups Polis assigned, the
number of groups, wall time, and the top group-informed-consensus statements beside
Polis's own agree/disagree counts; runs red-dwarf on the same votes in the same run;
then times a synthetic 5,000 × 1,000 matrix and its growth from 500 participants.
Writes the `polis` section of docs/benchmarks.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import machine, write_section
from bot.analysis import POLIS_RULE, StatementVote, analyze
from bot.analysis.groups import in_group_rows
from bot.analysis.matrix import build_vote_matrix
from bot.analysis.polis_export import (
    PolisExport,
    ari_against_polis,
    infer_in_group_rule,
    read_polis_export,
)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "polis"
REPEATS = 5
SYNTHETIC_SIZES = (500, 1000, 2000, 5000)
SYNTHETIC_STATEMENTS = 1000


def best_time(fn: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, Any]:
    """Fastest of `repeats` runs (the least disturbed by the machine), with its result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def red_dwarf(
    votes: Sequence[StatementVote], moderated: Sequence[int], keep: Sequence[int]
) -> tuple[dict[int, int], int]:
    """red-dwarf's Polis pipeline on the same votes; returns groups and k."""
    from reddwarf.implementations.polis import run_pipeline

    rows = [
        {"participant_id": v.participant_id, "statement_id": v.statement_id, "vote": v.vote,
         "modified": v.created_ms or i}
        for i, v in enumerate(votes)
    ]
    # red-dwarf pivots without de-duplicating; give it the latest vote per pair, as Polis does.
    latest = {(r["participant_id"], r["statement_id"]): r for r in rows}
    result = run_pipeline(
        votes=list(latest.values()),
        mod_out_statement_ids=list(moderated),
        keep_participant_ids=list(keep),
        random_state=0,
    )
    frame = result.participants_df
    clustered = frame[frame["to_cluster"]]
    groups = {int(pid): int(g) for pid, g in clustered["cluster_id"].items()}
    return groups, len(set(groups.values()))


def conversation_rows(export: PolisExport) -> tuple[list[str], list[str]]:
    fit = infer_in_group_rule(export)
    ours_t, ours = best_time(lambda: analyze(export.votes, export.moderated_out, rule=fit.rule))
    today = analyze(export.votes, export.moderated_out, rule=POLIS_RULE)
    matrix = build_vote_matrix(export.votes, export.moderated_out)
    stream = [(v.participant_id, v.statement_id) for v in export.votes]
    keep = [int(matrix.participant_ids[r]) for r in in_group_rows(matrix, fit.rule, stream)]
    try:
        rd_t, (rd_groups, rd_k) = best_time(
            lambda: red_dwarf(export.votes, sorted(export.moderated_out), keep), repeats=2
        )
        rd_ari = f"{ari_against_polis(export, rd_groups):.3f}"
        rd_cell = f"{rd_ari} | {rd_k} | {rd_t * 1000:.0f} ms | {rd_t / ours_t:.1f}x"
    except ImportError:
        rd_cell = "not installed | – | – | –"
    polis_k = len(set(export.polis_groups.values()))
    rule = fit.rule
    rule_text = f"≥ min({rule.min_votes}, n) votes" + (", replayed, sticky" if rule.replay else "")
    rule_text += "" if fit.exact else f" (closest: {fit.extra} extra, {fit.missing} missing)"
    row = (
        f"| {export.name} | {rule_text} | {ari_against_polis(export, ours.assignments):.3f} "
        f"| {ari_against_polis(export, today.assignments):.3f} | {ours.k} / {polis_k} "
        f"| {ours_t * 1000:.0f} ms | {rd_cell} |"
    )
    comments = {c.comment_id: c for c in export.comments}
    by_id = {s.statement_id: s for s in ours.statements}
    top = []
    for sid in ours.consensus[:3]:
        s, c = by_id[sid], comments.get(sid)
        polis = f"{c.agrees} / {c.disagrees}" if c else "–"
        top.append(
            f"| {export.name} | #{sid} | {s.group_informed_consensus:.3f} "
            f"| {s.agree} / {s.disagree} / {s.seen} | {polis} |"
        )
    return [row], top


def synthetic_votes(n_participants: int, n_statements: int, seed: int = 0) -> list[StatementVote]:
    """Three opinion groups, each participant seeing half the statements."""
    rng = np.random.default_rng(seed)
    p_agree = rng.choice([0.15, 0.85], size=(3, n_statements))
    group = rng.integers(0, 3, n_participants)
    seen = rng.random((n_participants, n_statements)) < 0.5
    agree = rng.random((n_participants, n_statements)) < p_agree[group]
    pids, sids = np.nonzero(seen)
    order = rng.permutation(len(pids))
    return [
        StatementVote(int(p), int(s), 1 if agree[p, s] else -1)
        for p, s in zip(pids[order], sids[order], strict=True)
    ]


def synthetic_rows() -> list[str]:
    rows = []
    for n in SYNTHETIC_SIZES:
        votes = synthetic_votes(n, SYNTHETIC_STATEMENTS)
        repeats = 3 if n <= 2000 else 2
        build_t, matrix = best_time(lambda v=votes: build_vote_matrix(v), repeats)
        total_t, result = best_time(lambda v=votes: analyze(v), repeats)
        try:
            rd_t, _ = best_time(lambda v=votes: red_dwarf(v, [], []), repeats=1)
            rd = f"{rd_t:.2f} s"
        except ImportError:
            rd = "not installed"
        rows.append(
            f"| {n:,} × {SYNTHETIC_STATEMENTS:,} | {len(votes):,} | {build_t:.2f} s "
            f"| {total_t:.2f} s | {result.k} | {rd} |"
        )
        assert matrix.shape == (n, SYNTHETIC_STATEMENTS)
    return rows


def main() -> None:
    conv_rows: list[str] = []
    top_rows: list[str] = []
    for directory in sorted(p for p in DATA.iterdir() if p.is_dir()):
        rows, top = conversation_rows(read_polis_export(directory))
        conv_rows += rows
        top_rows += top
        print(rows[0], flush=True)
    synth = synthetic_rows()
    print("\n".join(synth))
    body = "\n".join([
        "## Opinion groups vs Polis and red-dwarf (`bench/polis_bench.py`)",
        "",
        "Rerun: `.venv/bin/python -m bench.polis_bench` (needs the `bench` extra for "
        "red-dwarf 0.4.0 and the Polis open data in `../shared/data/polis/`).",
        "",
        f"Machine: {machine()}",
        "",
        "ARI is the adjusted Rand index against the groups in Polis's export, over every "
        "participant Polis grouped (anyone we leave out counts as a group of their own). "
        "*Export rule* is the in-group rule inferred from which participants carry a "
        "group id; *today's rule* is current Polis (≥ min(7, n) votes, topped up to 15). "
        "Times are the best of several runs, from the vote list to the finished analysis "
        "(matrix, PCA, clustering, all statement statistics); red-dwarf gets the same "
        "votes and the same clustered participants (`keep_participant_ids`).",
        "",
        "| conversation | in-group rule (export) | ARI, export rule | ARI, today's rule "
        "| k ours / Polis | time ours | ARI red-dwarf | k red-dwarf | time red-dwarf "
        "| red-dwarf / ours |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *conv_rows,
        "",
        "Top group-informed-consensus statements (ours) beside Polis's own counts:",
        "",
        "| conversation | statement | group-informed consensus | agree / disagree / seen "
        "(ours) | agrees / disagrees (Polis comments.csv) |",
        "|---|---|---|---|---|",
        *top_rows,
        "",
        f"Synthetic matrices: three opinion groups, {SYNTHETIC_STATEMENTS:,} statements, "
        "each participant votes on half of them.",
        "",
        "| participants × statements | votes | matrix build | full analysis | k "
        "| red-dwarf |",
        "|---|---|---|---|---|---|",
        *synth,
    ])
    write_section("polis", body)


if __name__ == "__main__":
    main()
