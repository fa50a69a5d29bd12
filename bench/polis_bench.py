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
from bot.analysis.groups import BASE_ITERS, BASE_K, _best_of_starts, _first_distinct, in_group_rows, kmeans, project
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
BASE_ORDERS = 20
"""Base clusterings tried per conversation to show how much Polis's history can move its groups."""
ARI_GOAL = 0.9

WHY_NOT = {
    "brexit-consensus": (
        "Polis shows 2 groups; silhouette on the base clusters prefers 3 (5 scores within 0.001 of "
        "it, 2 is 0.011 lower), and replaying the votes through the hold-back smoother (20, 50 or "
        "200 recomputations; tried while investigating, not rerun here) ends on 5, not 2. Polis's "
        "math has no minimum group size that would drop k = 3 (its smallest group is 35 of 197), "
        "so no documented rule gives Polis's k from these votes; its 2 groups came from its "
        "history. At Polis's k our ARI is in the *ARI at Polis's k* column."
    ),
    "canadian-electoral-reform": (
        "Same k and projection as red-dwarf (identical to 1e-13), but 2 of 281 participants fall on "
        "the other side: they share a base cluster with a participant Polis put in the other group. "
        "Polis's 100 base clusters grow from each update's previous ones (`clean-start-clusters`), "
        "a history no export holds; over equally valid base clusterings the ARI spans the range "
        "in the table below and ours sits at its median. red-dwarf reaches 1.000 because it skips base "
        "clusters and seeds k-means with the lexicographically smallest points (`np.unique` sorts) "
        "rather than Polis's first distinct rows: the same choice costs it seattle (its ARI there is in "
        "the table above), and with Polis's own row-order seeding the direct clustering scores as in "
        "the table below — so it is not a Polis rule we can adopt."
    ),
    "scoop-hivemind.ubi": (
        "Polis's 4 groups are not reproducible from the votes: 43% of its grouped participants sit "
        "nearer another Polis group's centre than their own in the plane rebuilt from the export "
        "(table below). k-means (any k, any start) returns groups whose members lie nearer their "
        "own group's centre, up to the few whose base cluster straddles a boundary (seattle's 1, "
        "brexit's 6), so no k-means pipeline on this projection can return Polis's groups; the "
        "export comes from an older Polis whose projection or groups differ from what its votes "
        "give today. Nothing, ours or red-dwarf, reproduces it."
    ),
}


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
        {
            "participant_id": v.participant_id,
            "statement_id": v.statement_id,
            "vote": v.vote,
            "modified": v.created_ms or i,
        }
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


def _ari(export: PolisExport, ids: Sequence[Any], rows: np.ndarray, labels: np.ndarray) -> float:
    return ari_against_polis(export, {ids[r]: int(g) for r, g in zip(rows, labels, strict=True)})


def base_cluster_spread(
    export: PolisExport, rows: np.ndarray, xy: np.ndarray, ids: Sequence[Any], k: int
) -> list[float]:
    """ARI at Polis's k over base clusterings seeded from reordered participants.

    Polis seeds its base clusters from the first distinct rows and then carries them from
    update to update, so which (equally valid) base clustering it ends with depends on the
    order people arrived and when it recomputed. Each reordering stands for one such history.
    """
    points = xy[rows]
    rng = np.random.default_rng(0)
    scores = []
    for _ in range(BASE_ORDERS):
        order = rng.permutation(len(points))
        base_labels, centers = kmeans(points, _first_distinct(points[order], BASE_K), max_iter=BASE_ITERS)
        sizes = np.bincount(base_labels, minlength=len(centers)).astype(np.float64)
        labels = _best_of_starts(centers, sizes, k)[base_labels]
        scores.append(_ari(export, ids, rows, labels))
    return scores


def direct_kmeans_ari(
    export: PolisExport, rows: np.ndarray, xy: np.ndarray, ids: Sequence[Any], k: int
) -> tuple[float, float]:
    """red-dwarf's clustering (scikit-learn k-means on participants, no base clusters) at Polis's
    k, seeded as red-dwarf does (smallest points first) and as Polis does (first distinct rows)."""
    from sklearn.cluster import KMeans

    points = xy[rows]
    out = []
    for init in (np.unique(points, axis=0)[:k], _first_distinct(points, k)):
        labels = KMeans(k, init=init, n_init=1).fit(points).labels_
        out.append(_ari(export, ids, rows, labels))
    return out[0], out[1]


def nearer_other_group(export: PolisExport, xy: np.ndarray, ids: Sequence[Any]) -> int:
    """Participants Polis grouped who sit nearer another Polis group's centre than their own
    in our plane: k-means (with or without base clusters) can never return such a grouping."""
    row_of = {pid: i for i, pid in enumerate(ids)}
    grouped = [pid for pid in export.polis_groups if pid in row_of]
    points = xy[[row_of[pid] for pid in grouped]]
    labels = np.array([export.polis_groups[pid] for pid in grouped])
    names = np.unique(labels)
    centres = np.array([points[labels == g].mean(axis=0) for g in names])
    nearest = names[np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)]
    return int((nearest != labels).sum())


def conversation_rows(export: PolisExport) -> tuple[list[str], list[str], list[str], list[str]]:
    fit = infer_in_group_rule(export)
    ours_t, ours = best_time(lambda: analyze(export.votes, export.moderated_out, rule=fit.rule))
    today = analyze(export.votes, export.moderated_out, rule=POLIS_RULE)
    polis_k = len(set(export.polis_groups.values()))
    at_k = analyze(export.votes, export.moderated_out, rule=fit.rule, force_k=polis_k)
    matrix = build_vote_matrix(export.votes, export.moderated_out)
    stream = [(v.participant_id, v.statement_id) for v in export.votes]
    rows = in_group_rows(matrix, fit.rule, stream)
    keep = [int(matrix.participant_ids[r]) for r in rows]
    ours_ari = ari_against_polis(export, ours.assignments)
    rd_ari: float | None = None
    try:
        rd_t, (rd_groups, rd_k) = best_time(lambda: red_dwarf(export.votes, sorted(export.moderated_out), keep))
        rd_ari = ari_against_polis(export, rd_groups)
        rd_cell = f"{rd_ari:.3f} | {rd_k} | {rd_t * 1000:.0f} ms | {rd_t / ours_t:.1f}x"
    except ImportError:
        rd_cell = "not installed | – | – | –"
    rule = fit.rule
    rule_text = f"≥ min({rule.min_votes}, n) votes" + (", replayed, sticky" if rule.replay else "")
    rule_text += "" if fit.exact else f" (closest: {fit.extra} extra, {fit.missing} missing)"
    row = (
        f"| {export.name} | {rule_text} | {ours_ari:.3f} "
        f"| {ari_against_polis(export, today.assignments):.3f} "
        f"| {ari_against_polis(export, at_k.assignments):.3f} | {ours.k} / {polis_k} "
        f"| {ours_t * 1000:.0f} ms | {rd_cell} |"
    )
    xy = project(matrix).participants
    spread = base_cluster_spread(export, rows, xy, matrix.participant_ids, polis_k)
    rd_sorted, rd_row_order = direct_kmeans_ari(export, rows, xy, matrix.participant_ids, polis_k)
    evidence = (
        f"| {export.name} | {nearer_other_group(export, xy, matrix.participant_ids)} of "
        f"{len(export.polis_groups)} | {ari_against_polis(export, at_k.assignments):.3f} "
        f"| {min(spread):.3f} / {float(np.median(spread)):.3f} / {max(spread):.3f} "
        f"| {rd_sorted:.3f} | {rd_row_order:.3f} |"
    )
    tie = 5e-4  # ARIs are shown to three decimals
    parts = [f"ARI ≥ {ARI_GOAL}: " + ("met" if ours_ari >= ARI_GOAL else "**not met**")]
    speed_ok = True
    if rd_ari is not None:
        better = ours_ari >= rd_ari - tie
        speed_ok = rd_t / ours_t >= 3
        parts.append(
            "≥ 3x faster than red-dwarf with equal or better ARI: "
            + ("met" if better and speed_ok else "**not met**")
            + f" ({rd_t / ours_t:.1f}x, red-dwarf's ARI {rd_ari:.3f})"
        )
    missed = ours_ari < ARI_GOAL or (rd_ari is not None and (ours_ari < rd_ari - tie or not speed_ok))
    reason = WHY_NOT.get(export.name, "") if missed else ""
    status = f"- **{export.name}** ({ours_ari:.3f}): {'; '.join(parts)}." + (f" {reason}" if reason else "")
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
    return [row], top, [evidence], [status]


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
        StatementVote(int(p), int(s), 1 if agree[p, s] else -1) for p, s in zip(pids[order], sids[order], strict=True)
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
    evidence_rows: list[str] = []
    status_rows: list[str] = []
    for directory in sorted(p for p in DATA.iterdir() if p.is_dir()):
        rows, top, evidence, status = conversation_rows(read_polis_export(directory))
        conv_rows += rows
        top_rows += top
        evidence_rows += evidence
        status_rows += status
        print(rows[0], flush=True)
    synth = synthetic_rows()
    print("\n".join(synth))
    body = "\n".join(
        [
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
            "| ARI at Polis's k | k ours / Polis | time ours | ARI red-dwarf | k red-dwarf "
            "| time red-dwarf | red-dwarf / ours |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *conv_rows,
            "",
            f"Goals (issue 5): ARI ≥ {ARI_GOAL} on each conversation, and ours ≥ 3x faster than "
            "red-dwarf with equal or better ARI.",
            "",
            *status_rows,
            "",
            "Why the misses are not fixable from an export. Polis's groups are unions of 100 base "
            "clusters that it carries from one recomputation to the next (`clean-start-clusters` in "
            "polismath's `clusters.clj`), so they depend on the order people arrived and on when "
            "Polis recomputed; the export holds neither. The first column counts participants whose "
            "Polis group is not the nearest Polis group centre in the plane rebuilt from the export "
            "(k-means on participants never returns such a grouping; base clusters allow it only for "
            "the few whose base cluster straddles a boundary); the second "
            "repeats our ARI at Polis's k; "
            f"the third reseeds our base clusters from {BASE_ORDERS} reorderings of the same "
            "participants (each an equally valid history) and gives min / median / max ARI at Polis's "
            "k. The last two run red-dwarf's clustering (scikit-learn k-means directly on the "
            "participants, no base clusters) at Polis's k, seeded as red-dwarf does (lexicographically "
            "smallest points, because `np.unique` sorts) and as Polis's `init-clusters` does (first "
            "distinct rows in matrix order). A replay of the vote stream through Polis's update rules "
            "(base and group clusters carried between recomputations, hold-back on k) was also tried "
            "while investigating (not rerun here): its result swings with the recomputation schedule "
            "(canadian 0.138 recomputing hourly, 0.898 daily; seattle 0.884 / 0.802), so it cannot "
            "stand in for Polis's unknown schedule.",
            "",
            "| conversation | Polis-grouped, nearer another Polis group | ours at Polis's k "
            "| base clusterings: min / median / max | direct k-means, "
            "red-dwarf seeding | direct k-means, Polis seeding |",
            "|---|---|---|---|---|---|",
            *evidence_rows,
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
            "| participants × statements | votes | matrix build | full analysis | k | red-dwarf |",
            "|---|---|---|---|---|---|",
            *synth,
        ]
    )
    write_section("polis", body)


if __name__ == "__main__":
    main()
