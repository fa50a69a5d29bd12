"""Concurrent writers: contributions stored per second with 50 writers at once, against raw sqlite3.

Run with `.venv/bin/python -m bench.concurrency_bench` (about a minute); it rewrites the
"concurrency" section of docs/benchmarks.md. `--quick` runs smaller and prints without writing.

The rows are the store benchmark's (`bench/store_bench.py`: one position event, the deliberation's
row and one contribution row per action, WAL, `synchronous = FULL`): raw `sqlite3` writes them one
transaction at a time, as before; `Store.append` and the whole service path `Roundtable.act` are
driven by 50 concurrent writers, each stating positions into its own deliberation one after
another, so at any moment up to 50 writes are waiting and group commit (bot/store/group_commit.py)
puts them in one transaction. The single-writer `Store.append` is measured beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench._report import machine, write_section
from bench.store_bench import (
    GUILD,
    T0,
    Clock,
    Words,
    Workload,
    opening_events,
    position_event,
    raw_sqlite,
    store_append,
)
from bot.config import Settings
from bot.engine.model import Actor, Contribution, ContributionKind, Role
from bot.service import Roundtable
from bot.store import Store
from bot.store.signing import Signer

WRITERS = 50


def split(count: int) -> list[list[tuple[int, str, str]]]:
    """Each writer's positions: (member, stance, text), the same texts as the store benchmark's."""
    work = Workload.make(count, Words(seed=1))
    per = [[] for _ in range(WRITERS)]  # type: list[list[tuple[int, str, str]]]
    for i, (_, _, stance, text) in enumerate(work.positions):
        per[i % WRITERS].append((1000 + i, stance, text))
    return per


@dataclass
class Run:
    rate: float
    batches: int
    writes: int


async def store_concurrent(path: Path, count: int) -> Run:
    store = await Store.open(path, signer=Signer.generate())
    deadline = T0 + timedelta(days=1)
    ids = [
        await store.create_deliberation(
            GUILD,
            None,
            opening_events(f"Question {w}?", T0),
            question=f"Question {w}?",
            template="consent",
            round_kind="positions",
            deadline_at=deadline,
        )
        for w in range(WRITERS)
    ]
    work = split(count)
    clock = Clock()

    async def writer(w: int) -> None:
        for n, (member, stance, text) in enumerate(work[w], start=1):
            at = clock()
            event = position_event(member, n, stance, text, at)
            contribution = Contribution(n, ContributionKind.POSITION, event.actor.key, 0, at, stance, text)
            await store.append(
                GUILD,
                ids[w],
                [event],
                status="open",
                round_kind="positions",
                deadline_at=deadline,
                contributions=[contribution],
            )

    batches, writes = store.group.batches, store.group.writes
    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    elapsed = time.perf_counter() - start
    run = Run(count / elapsed, store.group.batches - batches, store.group.writes - writes)
    # Rows written straight to the store skip the engine (no joins), so `verify`'s replay would
    # refuse them; every chain must still be whole: as many events as written, one head each.
    async with store._conn.execute("SELECT count(*) FROM events WHERE kind = 'contribution.added'") as cur:
        row = await cur.fetchone()
    assert row is not None
    assert row[0] == count
    await store.close()
    return run


async def service_concurrent(path: Path, count: int) -> Run:
    settings = Settings.load(
        path.parent / "no-config.toml", read_env=False, database={"path": path}, ai={"enabled": False}
    )
    service = await Roundtable.open(settings, Clock())
    moderator = Actor.human(1, "Moderator")
    ids = [(await service.start(GUILD, None, moderator, f"Question {w}?")).deliberation.id for w in range(WRITERS)]
    work = split(count)
    for w in range(WRITERS):  # members join first (not timed): each timed action writes one event
        for member, _, _ in work[w]:
            actor = Actor.human(member, f"member {member}")
            await service.act(GUILD, ids[w], lambda d, at, a=actor: d.join(a, Role.PARTICIPANT, at))

    async def writer(w: int) -> None:
        for member, stance, text in work[w]:
            actor = Actor.human(member, f"member {member}")
            await service.act(GUILD, ids[w], lambda d, at, a=actor, s=stance, t=text: d.state_position(a, s, t, at))

    store = service.store
    batches, writes = store.group.batches, store.group.writes
    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    elapsed = time.perf_counter() - start
    run = Run(count / elapsed, store.group.batches - batches, store.group.writes - writes)
    assert await store.verify() == []
    await service.close()
    return run


@dataclass
class Results:
    raw: list[float] = field(default_factory=list)
    single: list[float] = field(default_factory=list)
    store: list[Run] = field(default_factory=list)
    service: list[Run] = field(default_factory=list)


def measure(count: int, rounds: int, tmp: Path) -> Results:
    work = Workload.make(count, Words(seed=1))
    out = Results()
    for i in range(rounds):
        # Interleaved, each on a new file, so that drift in the machine hits all alike.
        gc.collect()
        out.raw.append(raw_sqlite(tmp / f"raw-{i}.sqlite3", work))
        gc.collect()
        out.single.append(asyncio.run(store_append(tmp / f"single-{i}.sqlite3", work)))
        gc.collect()
        out.store.append(asyncio.run(store_concurrent(tmp / f"store-{i}.sqlite3", count)))
        gc.collect()
        out.service.append(asyncio.run(service_concurrent(tmp / f"service-{i}.sqlite3", count)))
    return out


def report(r: Results, count: int, seconds: float) -> str:
    raw = statistics.median(r.raw)
    single = statistics.median(r.single)
    store = statistics.median(x.rate for x in r.store)
    service = statistics.median(x.rate for x in r.service)

    def per_batch(runs: list[Run]) -> str:
        return f"{statistics.median(x.writes / max(x.batches, 1) for x in runs):.1f}"

    verdict = "met" if min(store, service) >= raw else "MISSED"
    return "\n".join(
        [
            "## Concurrent writers (group commit)",
            "",
            f"Rerun: `.venv/bin/python -m bench.concurrency_bench` (about {max(1, round(seconds / 60))} minute(s);"
            " rewrites this section).",
            "",
            f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}.",
            "",
            f"{count:,} positions, the store benchmark's rows (one hash-chained event, the deliberation's row, one"
            " contribution row; WAL, `synchronous = FULL`, each chain head signed). Raw `sqlite3` and the single"
            f" writer commit one transaction per position; the concurrent rows run {WRITERS} writers at once, each"
            " stating positions into its own deliberation one after another. Median of"
            f" {len(r.raw)} interleaved runs, each on a new file; `verify` passes on the service's files.",
            "",
            "| Path | Contributions/s | Share of raw sequential | Writes per transaction |",
            "|---|---:|---:|---:|",
            f"| raw `sqlite3`, one transaction at a time | {raw:,.0f} | 100% | 1 |",
            f"| `Store.append`, one writer | {single:,.0f} | {single / raw:.0%} | 1 |",
            f"| `Store.append`, {WRITERS} writers | {store:,.0f} | {store / raw:.0%} | {per_batch(r.store)} |",
            f"| `Roundtable.act`, {WRITERS} writers (decide + apply + store) | {service:,.0f} | {service / raw:.0%}"
            f" | {per_batch(r.service)} |",
            "",
            f"Runs (raw / single / store / service): {', '.join(f'{x:,.0f}' for x in r.raw)} /"
            f" {', '.join(f'{x:,.0f}' for x in r.single)} / {', '.join(f'{x.rate:,.0f}' for x in r.store)} /"
            f" {', '.join(f'{x.rate:,.0f}' for x in r.service)}.",
            "",
            f"Goal (issue 12): SQLite with {WRITERS} concurrent writers stores at least as many contributions per"
            f" second as raw `sqlite3` one transaction at a time: {verdict}. With `synchronous = FULL` every commit"
            " waits for the disk; group commit lets the writes that queued meanwhile share the next commit, each"
            " in its own savepoint (a failing write is rolled back alone), each caller answered only after the"
            " commit that holds its write.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="smaller; print instead of writing the report")
    args = parser.parse_args()
    count, rounds = (1000, 1) if args.quick else (4000, 3)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="concurrency-bench-") as name:
        print("concurrent writers ...", file=sys.stderr)
        results = measure(count, rounds, Path(name))
    body = report(results, count, time.perf_counter() - started)
    print(body)
    if not args.quick:
        write_section("concurrency", body)


if __name__ == "__main__":
    main()
