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
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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


async def _shard(
    database: str, key: Path, guilds: list[int], plan: Plan, barrier: Barrier
) -> tuple[float, float, int, float]:
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
        cpu = time.process_time()  # this process's CPU time, all its threads
        done = await asyncio.gather(*(writer(guild, d) for guild, d in work))
        end = time.perf_counter()
        cpu = time.process_time() - cpu
    finally:
        await service.close()
    return start, end, sum(done), cpu


def run(
    database: str, key: Path, per_deliberation: int, processes: int, server_cpu: Callable[[], float] | None
) -> tuple[float, list[float], float, float, float]:
    """Contributions per second over all shards, each process's own rate, and the cores the bot's
    processes, the database server and the whole machine kept busy (CPU time over the wall time)."""
    plan = asyncio.run(prepare(database, key, per_deliberation))
    ctx = mp.get_context("spawn")
    groups = [GUILDS] if processes == 1 else list(SHARDS)
    barrier = ctx.Barrier(len(groups) + 1)  # the shards and this process, which notes the server's CPU
    out = ctx.Queue()
    workers = [ctx.Process(target=shard, args=(database, str(key), guilds, plan, barrier, out)) for guilds in groups]
    for w in workers:
        w.start()
    try:
        barrier.wait(timeout=900)
        server_before = server_cpu() if server_cpu else 0.0
        machine_before = machine_cpu()
        results = [out.get(timeout=900) for _ in workers]
        server_used = (server_cpu() - server_before) if server_cpu else 0.0
        machine_used = machine_cpu() - machine_before
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.kill()
    assert all(w.exitcode == 0 for w in workers), [w.exitcode for w in workers]
    start, end = min(r[0] for r in results), max(r[1] for r in results)
    total = sum(r[2] for r in results)
    asyncio.run(_verify(database, key))
    wall = end - start
    bot, server = sum(r[3] for r in results) / wall, server_used / wall
    return total / wall, [r[2] / (r[1] - r[0]) for r in results], bot, server, machine_used / wall


def machine_cpu() -> float:
    """CPU seconds every process on the machine has used (/proc/stat), others' work included."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(server: PostgresServer) -> Callable[[], float]:
    """CPU seconds the server has used: the postmaster, its live children and those it has reaped."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    def used() -> float:
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        mine = fields(postmaster)  # after the ")": state is [0], utime [11], stime [12], cutime [13], cstime [14]
        total = sum(int(v) for v in mine[11:15])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = fields(int(entry.name))
                except OSError:
                    continue
                if int(stat[1]) == postmaster:
                    total += int(stat[11]) + int(stat[12])
        return total / tick

    return used


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
    cores_one: list[float] = field(default_factory=list)
    cores_two: list[float] = field(default_factory=list)
    server_one: list[float] = field(default_factory=list)
    server_two: list[float] = field(default_factory=list)
    machine_one: list[float] = field(default_factory=list)
    machine_two: list[float] = field(default_factory=list)


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
                server_cpu = postgres_cpu(server) if backend == "PostgreSQL" else None
                rate, each, cores, server_cores, busy = run(database, key, per_deliberation, processes, server_cpu)
                (r.machine_one if processes == 1 else r.machine_two).append(busy)
                (r.one if processes == 1 else r.two).append(rate)
                (r.cores_one if processes == 1 else r.cores_two).append(cores)
                (r.server_one if processes == 1 else r.server_two).append(server_cores)
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
        " | each process alone (two processes) | cores busy: bot, one / two | cores busy: server, one / two"
        " | cores busy: whole machine, one / two |",
        "|---|---:|---:|---:|---|---|---|---|",
    ]
    for backend, r in rates.items():
        one, two = statistics.median(r.one), statistics.median(r.two)
        each = " / ".join(f"{statistics.median(p[i] for p in r.per_process):,.0f}" for i in range(2))
        cores = f"{statistics.median(r.cores_one):.2f} / {statistics.median(r.cores_two):.2f}"
        server = (
            f"{statistics.median(r.server_one):.2f} / {statistics.median(r.server_two):.2f}"
            if backend == "PostgreSQL"
            else "in process"
        )
        whole = f"{statistics.median(r.machine_one):.2f} / {statistics.median(r.machine_two):.2f}"
        lines.append(
            f"| {backend} | {one:,.0f} | {two:,.0f} | {two / one:.2f}x | {each} | {cores} | {server} | {whole} |"
        )
    runs = "; ".join(
        f"{backend}: " + " / ".join(", ".join(f"{v:,.0f}" for v in vs) for vs in (r.one, r.two))
        for backend, r in rates.items()
    )
    lines += ["", f"Runs (one process / two processes): {runs}.", ""]
    pg, lite = rates["PostgreSQL"], rates["SQLite"]
    gains = {b: statistics.median(r.two) / statistics.median(r.one) for b, r in rates.items()}
    met = [b for b, g in gains.items() if g >= 1.8]
    server_ms = statistics.median(pg.server_one) / statistics.median(pg.one) * 1000
    lines += [
        "Goal (issue 12): two processes store at least 1.8x what one does: "
        + (f"met on {', '.join(met)}" if met else "**not met** on this machine")
        + " ("
        + ", ".join(f"{b} {g:.2f}x" for b, g in gains.items())
        + "). Why, from the cores columns (CPU time over wall time; the machine has 2, and was"
        f" {statistics.median(pg.machine_one):.2f} / {statistics.median(pg.machine_two):.2f} cores busy during the"
        " PostgreSQL runs, other engineers' work included: no core was left for a second process):",
        "",
        "- SQLite: one file has one writer at a time. The two processes take turns at its write lock (the"
        " one waiting sleeps and retries, SQLite's busy timeout), so each commit carries fewer writes than"
        " one process's group commit gathers, and both bot processes together keep about the CPU one did"
        f" busy ({statistics.median(lite.cores_one):.2f} / {statistics.median(lite.cores_two):.2f} cores):"
        " the file, not the CPU, is the limit. Two processes on one SQLite file are for a rolling deploy or"
        " a shard moving, not for throughput.",
        "- PostgreSQL: the server does most of an append's work"
        f" ({server_ms:.1f} ms of server CPU per contribution: the chain's lock, seven statements, the"
        " append-only triggers, four tables' indexes, the WAL and its flush at each commit), on the same"
        " 2 cores as the bot's processes and everything else running here (the whole-machine column"
        " counts other engineers' work too). A second bot process adds Python, not server capacity: the"
        " server's share stays about the same and so does the rate.",
        "- What sharding does spread is each process's own work, most of which is not the store: the"
        " scale benchmark's profile puts discord.py's gateway and interaction handling at most of a busy"
        " process's time. Spreading it needs cores to spread it on, and a database server with its own:"
        " this machine has neither to spare, so these figures say that two shards here do not write faster,"
        " not what they do on a larger host.",
        "",
    ]
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
