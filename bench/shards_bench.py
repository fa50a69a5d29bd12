"""Two shard processes writing different guilds at once, against one process writing them all.

Run with `.venv/bin/python -m bench.shards_bench` (a few minutes; needs `make postgres`); it
rewrites the "shards" section of docs/benchmarks.md. `--quick` runs smaller and prints only.

Ten guilds of five deliberations each; every deliberation gets positions stated by its own
members through `Roundtable.act` (engine decide + apply + store), one writer per deliberation
stating them one after another, all writers of a process at once. Shard A owns guilds 0-4 and
shard B guilds 5-9. *Two processes*: A and B are separate OS processes (multiprocessing, spawn),
each with its own `Roundtable` and store opened on the SAME database; *one process*: one process
drives both guild sets (all 50 writers). Members join first (not timed: each timed action writes
one event, as in the store benchmark) and both modes start together at a barrier; the rate is
all contributions over the time from the barrier to the last writer's end. Each run is a new
database; `verify` passes on every one afterwards. PostgreSQL runs with its durable defaults
(fsync, synchronous_commit on), SQLite with WAL and `synchronous = FULL`, as the bot does.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from bench._report import machine, write_section
from bench.store_bench import Words
from bot.config import Settings
from bot.engine.model import Actor, Role
from bot.service import Roundtable
from bot.store.backend import open_store
from bot.store.signing import Signer
from bot.store.url import sqlite_url
from tests.postgres import PostgresServer

GUILDS = [300_000_000_000 + g for g in range(10)]
SHARDS = (GUILDS[:5], GUILDS[5:])
PER_GUILD = 5
MODERATOR = Actor.human(1, "Moderator")


def settings_for(database: str, key: Path) -> Settings:
    return Settings.load(
        key.parent / "no-config.toml",
        read_env=False,
        database={"url": database, "path": key.parent / "unused.sqlite3", "signing_key": key},
        ai={"enabled": False},
    )


@dataclass
class Plan:
    """Each guild's deliberations, and each deliberation's positions: (member, stance, text)."""

    deliberations: dict[int, list[int]] = field(default_factory=dict)
    positions: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)


async def prepare(database: str, key: Path, per_deliberation: int) -> Plan:
    """The deliberations, opened by the service in the parent (not timed)."""
    words = Words(seed=1)
    service = await Roundtable.open(settings_for(database, key))
    plan = Plan()
    member = 10_000
    try:
        for g, guild in enumerate(GUILDS):
            ids = []
            for n in range(PER_GUILD):
                change = await service.start(guild, None, MODERATOR, f"Question {g}.{n}?")
                ids.append(change.deliberation.id)
                rows = []
                for _ in range(per_deliberation):
                    member += 1
                    rows.append((member, words.text(6), words.text(70)))
                plan.positions[change.deliberation.id] = rows
            plan.deliberations[guild] = ids
    finally:
        await service.close()
    return plan


def shard(database: str, key: str, guilds: list[int], plan: Plan, barrier: Barrier, out: Any) -> None:
    """One shard process: join its members (not timed), wait for the others, state every position."""
    out.put(asyncio.run(_shard(database, Path(key), guilds, plan, barrier)))


async def _shard(database: str, key: Path, guilds: list[int], plan: Plan, barrier: Barrier) -> tuple[float, float, int]:
    service = await Roundtable.open(settings_for(database, key))
    work = [(guild, d) for guild in guilds for d in plan.deliberations[guild]]
    try:
        for guild, d in work:
            for member, _, _ in plan.positions[d]:
                actor = Actor.human(member, f"member {member}")
                await service.act(guild, d, lambda dl, at, a=actor: dl.join(a, Role.PARTICIPANT, at))
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait)

        async def writer(guild: int, d: int) -> int:
            for member, stance, text in plan.positions[d]:
                actor = Actor.human(member, f"member {member}")
                await service.act(guild, d, lambda dl, at, a=actor, s=stance, t=text: dl.state_position(a, s, t, at))
            return len(plan.positions[d])

        start = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in every process
        done = await asyncio.gather(*(writer(guild, d) for guild, d in work))
        end = time.perf_counter()
    finally:
        await service.close()
    return start, end, sum(done)


def run(database: str, key: Path, per_deliberation: int, processes: int) -> tuple[float, list[float]]:
    """Contributions per second over all shards, and each process's own rate."""
    plan = asyncio.run(prepare(database, key, per_deliberation))
    ctx = mp.get_context("spawn")
    groups = [GUILDS] if processes == 1 else list(SHARDS)
    barrier = ctx.Barrier(len(groups))
    out = ctx.Queue()
    workers = [ctx.Process(target=shard, args=(database, str(key), guilds, plan, barrier, out)) for guilds in groups]
    for w in workers:
        w.start()
    try:
        results = [out.get(timeout=900) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.kill()
    assert all(w.exitcode == 0 for w in workers), [w.exitcode for w in workers]
    start, end = min(r[0] for r in results), max(r[1] for r in results)
    total = sum(r[2] for r in results)
    asyncio.run(_verify(database, key))
    return total / (end - start), [r[2] / (r[1] - r[0]) for r in results]


async def _verify(database: str, key: Path) -> None:
    store = await open_store(database, migrate=False)
    try:
        problems = await store.verify(public_key=Signer.load(key).public_key)
    finally:
        await store.close()
    assert problems == [], problems[:5]


@dataclass
class Rates:
    one: list[float] = field(default_factory=list)
    two: list[float] = field(default_factory=list)
    per_process: list[list[float]] = field(default_factory=list)


def measure(server: PostgresServer, tmp: Path, per_deliberation: int, rounds: int) -> dict[str, Rates]:
    key = tmp / "signing.key"
    Signer.load_or_create(key)
    rates = {"PostgreSQL": Rates(), "SQLite": Rates()}
    for n in range(rounds):  # interleaved, so a busy moment on the machine hits every mode alike
        for backend, r in rates.items():
            for processes in (1, 2):
                database = (
                    server.create_database()
                    if backend == "PostgreSQL"
                    else sqlite_url(tmp / f"shards-{n}-{processes}.sqlite3")
                )
                rate, each = run(database, key, per_deliberation, processes)
                (r.one if processes == 1 else r.two).append(rate)
                if processes == 2:
                    r.per_process.append(each)
                print(f"  {backend}, {processes} process(es): {rate:,.0f}/s", file=sys.stderr, flush=True)
    return rates


def render(rates: dict[str, Rates], per_deliberation: int, seconds: float) -> str:
    total = len(GUILDS) * PER_GUILD * per_deliberation
    lines = [
        "## Shard processes (`bench/shards_bench.py`)",
        "",
        f"Rerun: `.venv/bin/python -m bench.shards_bench` (about {max(1, round(seconds / 60))} minute(s); needs"
        " `make postgres`; rewrites this section). It starts its own PostgreSQL 15 server (durable defaults)"
        " and stops it at the end.",
        "",
        f"Machine: {machine()}.",
        "",
        f"{total:,} positions into {len(GUILDS) * PER_GUILD} deliberations of {len(GUILDS)} guilds through"
        " `Roundtable.act`, one writer per deliberation, all writers of a process at once. *Two processes*:"
        f" two OS processes (spawned), each owning {len(SHARDS[0])} guilds, each with its own `Roundtable`"
        " and store on the same database; *one process*: one process writing all ten guilds."
        f" Median of {len(rates['PostgreSQL'].one)} interleaved runs, each on a new database; `verify`"
        " passes on every one.",
        "",
        "| Database | one process, contributions/s | two processes, contributions/s | two over one"
        " | each process alone (two processes) |",
        "|---|---:|---:|---:|---|",
    ]
    for backend, r in rates.items():
        one, two = statistics.median(r.one), statistics.median(r.two)
        each = " / ".join(f"{statistics.median(p[i] for p in r.per_process):,.0f}" for i in range(2))
        lines.append(f"| {backend} | {one:,.0f} | {two:,.0f} | {two / one:.2f}x | {each} |")
    runs = "; ".join(
        f"{backend}: " + " / ".join(", ".join(f"{v:,.0f}" for v in vs) for vs in (r.one, r.two))
        for backend, r in rates.items()
    )
    lines += ["", f"Runs (one process / two processes): {runs}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller, one round; print, do not write")
    args = parser.parse_args()
    per_deliberation, rounds = (8, 1) if args.quick else (40, 3)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shards-bench-") as name, PostgresServer(fast=False) as server:
        rates = measure(server, Path(name), per_deliberation, rounds)
    text = render(rates, per_deliberation, time.perf_counter() - started)
    if args.quick:
        print(text)
        return
    write_section("shards", text)
    print(text, file=sys.stderr)


if __name__ == "__main__":
    main()
