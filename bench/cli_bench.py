"""How fast the command line answers, and how long `archive build` takes.

    python -m bench.cli_bench                  # rewrites the "cli" section of docs/benchmarks.md
    python -m bench.cli_bench --compare REV    # also times `--help` at an older commit (e.g. 23504b0)

`--help` is timed as a user meets it: a new `python -m bot ... --help` process, wall clock from
spawn to exit, repeated; the interpreter's own start (`python -c pass`) is timed the same way
beside it, since on a loaded machine it is most of the figure. The goal is under 0.3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from bench._report import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
GOAL_SECONDS = 0.3
COMMANDS: list[list[str]] = [
    [],
    ["run"],
    ["verify"],
    ["export"],
    ["archive", "build"],
    ["archive", "serve"],
    ["sandbox"],
    ["db", "upgrade"],
    ["polis", "analyze"],
    ["polis", "import"],
    ["polis", "export"],
]
ARCHIVE_RECORDS = 100


def _time(argv: list[str], *, cwd: Path, pythonpath: Path) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) seconds of each of RUNS runs of `argv`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE")}
    env["PYTHONPATH"] = str(pythonpath)
    wall, cpu = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"{argv} exited {child.returncode}")
        cpu.append(usage.ru_utime + usage.ru_stime)
    return wall, cpu


def _row(label: str, times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    ordered = sorted(wall)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"| {label} | {statistics.median(wall):.3f} | {ordered[0]:.3f} | {p90:.3f} | {statistics.median(cpu):.3f} |"


def _checkout(rev: str, into: Path) -> Path:
    """The tree at `rev`, extracted (no worktree, nothing in the repository changes)."""
    data = subprocess.run(["git", "archive", rev, "bot"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


async def _archive_build_seconds(tmp: Path) -> tuple[float, float, float, int]:
    """`archive build` of a guild with ARCHIVE_RECORDS quick records, with and without charts."""
    from bot.archive import build_archive
    from bot.config import Settings
    from bot.engine import Actor, ConsentChoice, Vote
    from bot.service import Roundtable
    from bot.store import Store

    class Clock:
        now = datetime(2026, 3, 1, tzinfo=UTC)

        def __call__(self) -> datetime:
            return self.now

    db = tmp / "bench.sqlite3"
    settings = Settings.load(
        tmp / "none.toml",
        read_env=False,
        database={"path": db},
        ai={"enabled": False},
        deliberation={"quorum": 2, "min_round_minutes": 1},
    )
    clock = Clock()
    rt = await Roundtable.open(settings, clock)
    mod, ada, ben = Actor.human(1, "Mona"), Actor.human(2, "Ada"), Actor.human(3, "Ben")
    for n in range(ARCHIVE_RECORDS):
        d = (await rt.start(9, 1, mod, f"Question {n}: shall we?", template="quick")).deliberation
        await rt.act(9, d.id, lambda d, at: d.state_position(ada, "Yes", "Because it helps.", at))
        await rt.act(9, d.id, lambda d, at: d.state_position(ben, "No", "Because it costs.", at))
        await rt.act(9, d.id, lambda d, at: d.vote(ben, min(d.contributions), Vote.DISAGREE, at))
        clock.now += timedelta(minutes=2)
        await rt.act(9, d.id, lambda d, at: d.advance(mod, at))
        await rt.act(9, d.id, lambda d, at: d.give_consent(ada, ConsentChoice.ENDORSE, at))
        await rt.act(9, d.id, lambda d, at: d.give_consent(ben, ConsentChoice.BLOCK, at, reason="Too dear."))
        clock.now += timedelta(minutes=2)
        await rt.act(9, d.id, lambda d, at: d.advance(mod, at))
    await rt.close()
    store = await Store.open(db)
    try:
        start = time.perf_counter()
        await build_archive(store, 9, tmp / "with-charts")
        with_charts = time.perf_counter() - start
        start = time.perf_counter()
        await build_archive(store, 9, tmp / "with-charts")
        again = time.perf_counter() - start
        start = time.perf_counter()
        await build_archive(store, 9, tmp / "no-charts", charts=False)
        without = time.perf_counter() - start
    finally:
        await store.close()
    size = sum(p.stat().st_size for p in (tmp / "with-charts").rglob("*") if p.is_file())
    return with_charts, again, without, size


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_bench")
    parser.add_argument("--compare", metavar="REV", help="also time --help at this older commit")
    args = parser.parse_args(argv)
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        baseline = _time([python, "-c", "pass"], cwd=tmp, pythonpath=ROOT)
        rows = [_row("`python -c pass` (the interpreter alone)", baseline)]
        worst = 0.0
        for command in COMMANDS:
            times = _time([python, "-m", "bot", *command, "--help"], cwd=tmp, pythonpath=ROOT)
            worst = max(worst, statistics.median(times[1]))
            rows.append(_row(f"`python -m bot {' '.join([*command, '--help'])}`", times))
        before = ""
        if args.compare:
            old = _checkout(args.compare, tmp / "before")
            wall, cpu = _time([python, "-m", "bot", "--help"], cwd=tmp, pythonpath=old)
            before = (
                f"\nFor comparison, `python -m bot --help` at commit {args.compare} (every command's libraries "
                f"imported up front): median {statistics.median(wall):.3f} s wall, "
                f"{statistics.median(cpu):.3f} s CPU.\n"
            )
        with_charts, again, without, size = asyncio.run(_archive_build_seconds(tmp))
    verdict = "met" if worst < GOAL_SECONDS else "NOT met"
    body = f"""## Command line (`bench/cli_bench.py`)

Rerun: `.venv/bin/python -m bench.cli_bench [--compare REV]` (under a minute; rewrites this section).

Machine: {machine()}.

### `--help` of every command

A new process each time, spawn to exit, {RUNS} runs each, in seconds: wall clock (median, fastest,
p90) and the process's CPU time (user + system, median). Only the standard library loads for a
help text; each command imports discord.py, the store, numpy/scikit-learn, matplotlib or SimCord
when it runs. The interpreter's own start is the first row. This machine's 2 cores are shared
with other work, so wall clock there includes waiting for a core; the CPU time is what the
command itself costs, and what a user on an idle machine waits.

| Command | wall median | fastest | p90 | CPU median |
|---|---:|---:|---:|---:|
{chr(10).join(rows)}
{before}
Goal: every `--help` under {GOAL_SECONDS} s. Verdict on the CPU medians: **{verdict}** (slowest {worst:.3f} s).

### `archive build`

A guild of {ARCHIVE_RECORDS} sealed `quick` records (two positions, a vote, a block each), built into an
empty folder: {with_charts:.1f} s with charts (the consent chart and the opinion map of each record,
drawn by matplotlib; {size / 1024 / 1024:.1f} MiB in all), {without:.2f} s without (`--no-charts`).
Built again into the same folder, as `archive serve` does when a record is sealed: {again:.2f} s (a sealed
record never changes, so its charts, named by its chain head, are reused rather than redrawn).
"""
    write_section("cli", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
