"""Discord benchmark: per-interaction overhead in SimCord, and restoring 1,000 open deliberations.

Run with `.venv/bin/python -m bench.discord_bench` (about two minutes); it rewrites the "discord"
section of docs/benchmarks.md. `--quick` runs fewer iterations and prints without writing.

1. Per-interaction overhead. One bot from `create_bot` (settings in code, a real SQLite file, AI
   off) with bare discord.py handlers added beside Roundtable's own: a slash command that only
   replies, and a persistent button that opens a two-input modal whose submit only replies. In the
   same SimCord env and run, interleaved: `/position stance reasoning` (stored, answered, posted)
   beside the bare command, and State position -> modal -> submit (stored, answered, posted)
   beside the bare button -> modal -> submit. Each position is a new member's, spread over
   several deliberation threads. Measured from the member's action to the bot's answer (the
   interaction response), and to SimCord's "settled" (all the bot's work, the public post too).
2. 1,000 open deliberations in 100 guilds, created through `Roundtable.start` and `act` (three
   positions each and one member still to speak), then restored by a fresh bot process started in
   SimCord with the 100 guilds present: resident memory (VmRSS) and Python-heap growth
   (tracemalloc, a separate run) beside the same start over an empty database, and the time the
   restore takes (deadlines rescheduled, AI half-time timers set), with the AI participants off
   and on (on is the default configuration; the model is never started).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import discord
import simcord
import simcord.env as simcord_env
from discord import app_commands

from bench._report import machine, write_section
from bot.app import RoundtableBot, create_bot
from bot.config import Settings
from bot.engine.model import Actor, Role
from bot.sandbox import SimClock
from bot.service import Roundtable

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# SimCord's clock starts here; the deliberations of part 2 open an hour earlier, with a day per round.
SIM_START = datetime(2026, 1, 1, tzinfo=UTC)
GUILD_BASE = 900_000_000_000_000_000
GUILDS = 100
PER_GUILD = 10
POSITIONS = 3
THREADS = 8  # part 1 spreads positions over this many deliberations

# SimCord settles an actor's verb by polling; when the last thing pending is a finished task's
# done-callback it sleeps a whole idle interval (50 ms by default) before looking again. That
# lands on the bare command nearly every time and almost never on the position (which is still
# waiting on SQLite when settling starts), so unpatched the bare command looks 15x slower than a
# stored position. The benchmark polls every millisecond instead (`--no-idle-patch` to see).
SETTLE_IDLE = 0.001


def patch_settle_idle(idle: float) -> Callable[[], None]:
    """Poll every `idle` seconds while settling; returns the undo."""
    original = simcord_env.Env._settle_internal

    @functools.wraps(original)
    async def settle(self: simcord.Env, *, idle: float = idle, **kwargs: Any) -> None:
        await original(self, idle=idle, **kwargs)

    simcord_env.Env._settle_internal = settle  # type: ignore[method-assign]

    def undo() -> None:
        simcord_env.Env._settle_internal = original  # type: ignore[method-assign]

    return undo


def settings_for(tmp: Path, db: Path, *, ai: bool) -> Settings:
    # A file that does not exist: neither a developer's config.toml nor the environment leaks in.
    extra: dict[str, Any] = {} if ai else {"ai": {"enabled": False}}
    return Settings.load(tmp / "no-config.toml", read_env=False, database={"path": db}, **extra)


def rss_kib(field: str = "VmRSS") -> int:
    """This process's resident memory (VmRSS), or its peak since exec (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


@dataclass
class Timing:
    median: float
    p95: float
    n: int


def timing(samples: list[float]) -> Timing:
    ordered = sorted(samples)
    return Timing(statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], len(ordered))


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


# --------------------------------------------------------------------------- 1. per-interaction overhead


class Answers:
    """When the bot's interaction responses (a message or a modal) came back from Discord."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        self.installed = True
        for name in ("send_message", "send_modal", "defer"):
            original = getattr(discord.InteractionResponse, name)
            setattr(discord.InteractionResponse, name, self._wrap(original))

    def _wrap(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def answered(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            self.times.append(time.perf_counter())
            return result

        return answered

    def since(self, mark: int) -> float:
        new = self.times[mark:]
        if len(new) != 1:
            raise AssertionError(f"expected one interaction response, saw {len(new)}")
        return new[0]


ANSWERS = Answers()


PANEL_ID = "bench:bare-modal"


class BareModal(discord.ui.Modal, title="Bare modal"):
    """The same two Label-wrapped inputs as Roundtable's position modal; submitting only replies."""

    def __init__(self) -> None:
        super().__init__(timeout=900)
        self.stance = discord.ui.TextInput(custom_id="stance", style=discord.TextStyle.short, max_length=200)
        self.reasoning = discord.ui.TextInput(custom_id="reasoning", style=discord.TextStyle.paragraph)
        self.add_item(discord.ui.Label(text="Stance", component=self.stance))
        self.add_item(discord.ui.Label(text="Reasoning", component=self.reasoning))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("Thanks.", ephemeral=True)


class BarePanel(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Open", custom_id=PANEL_ID)
    async def open(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(BareModal())


def add_bare_handlers(bot: RoundtableBot) -> None:
    """Plain discord.py handlers on the same bot: nothing stored, nothing posted."""

    @app_commands.command(name="bench-ping", description="Only replies")
    async def ping(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("Pong.", ephemeral=True)

    @app_commands.command(name="bench-panel", description="Posts the bare modal's button")
    async def panel(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("Bare panel", view=BarePanel())

    bot.tree.add_command(ping)
    bot.tree.add_command(panel)
    bot.add_view(BarePanel())


PATHS = ("bare_slash", "position_slash", "bare_modal", "position_modal")
LABELS = {
    "bare_slash": "bare `/bench-ping` → reply",
    "position_slash": "`/position stance reasoning` → stored → reply",
    "bare_modal": "bare button → modal → submit → reply",
    "position_modal": "State position → modal → submit → stored → reply",
}


@dataclass
class Overhead:
    answer: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    settled: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    breakdown: dict[str, Timing] = field(default_factory=dict)
    unpatched: dict[str, Timing] = field(default_factory=dict)
    iterations: int = 0


@dataclass
class World:
    env: simcord.Env
    bot: RoundtableBot
    threads: list[Any]
    agendas: list[discord.Message]
    panels: list[Any]
    members: list[Any]
    pinger: Any


async def build_world(tmp: Path, members: int) -> World:
    settings = settings_for(tmp, tmp / "overhead.sqlite3", ai=False)
    clock = SimClock()
    bot = create_bot(settings, clock=clock)
    add_bare_handlers(bot)
    env = simcord.Env(bot)
    clock.env = env
    bot.external_wait = env.external_wait
    guild = env.create_guild("Bench", id=GUILD_BASE)
    moderators = guild.create_role("Moderators")
    channel = guild.create_text_channel("deliberations")
    archive = guild.create_text_channel("archive")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(env.create_user("Admin"), roles=[admins])
    moderator = guild.add_member(env.create_user("Moderator"), roles=[moderators])
    people = [guild.add_member(env.create_user(f"Member {i}")) for i in range(members)]
    pinger = guild.add_member(env.create_user("Pinger"))
    await env.start()
    await admin.slash(channel, "roundtable setup", moderator_role=moderators, archive_channel=archive)
    threads, agendas, panels = [], [], []
    for i in range(THREADS):
        result = await moderator.slash(channel, "deliberation start", question=f"Question {i}?", round_minutes=1440)
        assert result.response is not None, result
        assert "is open" in result.response.content, result
        thread = channel.threads[-1]
        threads.append(thread)
        agendas.append(thread.history()[0])
        await pinger.slash(thread, "bench-panel")
        panels.append(thread.last_message)
    return World(env, bot, threads, agendas, panels, people, pinger)


async def one_round(world: World, i: int, answers: Answers, out: Overhead | None) -> None:
    """The four paths once, in an order that rotates with `i`."""
    thread, agenda, panel = world.threads[i % THREADS], world.agendas[i % THREADS], world.panels[i % THREADS]
    by_slash, by_modal = world.members[2 * i], world.members[2 * i + 1]

    async def bare_slash() -> tuple[float, float]:
        mark, start = len(answers.times), time.perf_counter()
        await world.pinger.slash(thread, "bench-ping")
        return answers.since(mark) - start, time.perf_counter() - start

    async def position_slash() -> tuple[float, float]:
        mark, start = len(answers.times), time.perf_counter()
        result = await by_slash.slash(thread, "position", stance="Support", reasoning=REASONING)
        answered, settled = answers.since(mark) - start, time.perf_counter() - start
        assert result.response is not None, result
        assert "posted as" in result.response.content, result
        return answered, settled

    async def modal(actor: Any, message: Any, label: str, *, stored: bool) -> tuple[float, float]:
        mark, start = len(answers.times), time.perf_counter()
        shown = await actor.click(message, label=label)
        shown_at, opened = answers.since(mark), time.perf_counter()
        assert shown.modal is not None, shown
        mark, submitted = len(answers.times), time.perf_counter()
        done = await actor.submit_modal(shown, {"stance": "Support", "reasoning": REASONING})
        answered, end = answers.since(mark), time.perf_counter()
        assert done.response is not None, done
        assert not stored or "posted as" in done.response.content, done
        return (shown_at - start) + (answered - submitted), (opened - start) + (end - submitted)

    runs: dict[str, Callable[[], Awaitable[tuple[float, float]]]] = {
        "bare_slash": bare_slash,
        "position_slash": position_slash,
        "bare_modal": lambda: modal(world.pinger, panel, "Open", stored=False),
        "position_modal": lambda: modal(by_modal, agenda, "State position", stored=True),
    }
    order = PATHS[i % 4 :] + PATHS[: i % 4]
    for name in order:
        answered, settled = await runs[name]()
        if out is not None:
            out.answer[name].append(answered)
            out.settled[name].append(settled)


REASONING = (
    "Fridays suit more of us: fewer clash with work, the room is free, and the people who travel"
    " furthest have said they could come. " * 2
)


async def measure_overhead(tmp: Path, iterations: int, warmup: int) -> Overhead:
    answers = ANSWERS
    out = Overhead(iterations=iterations)
    world = await build_world(tmp, 2 * (warmup + iterations))
    try:
        for i in range(warmup):
            await one_round(world, i, answers, None)
        gc.collect()
        gc.freeze()  # the world built so far is not rescanned by every collection
        for i in range(warmup, warmup + iterations):
            await one_round(world, i, answers, out)
        gc.unfreeze()
        errors = list(world.env.errors_since(0))
        assert not errors, errors
    finally:
        await world.env.shutdown()
        await world.bot.close_roundtable()
    return out


async def measure_breakdown(tmp: Path, count: int) -> dict[str, Timing]:
    """Where a `/position`'s time goes: each step of the path timed in place (a separate run)."""
    import bot.exts._shared.posting as posting
    import bot.exts.contributions._cog as cog
    import bot.exts.contributions._flow as flow
    from bot.store.store import Store

    samples: dict[str, list[float]] = defaultdict(list)
    undo: list[tuple[Any, str, Any]] = []
    order: list[str] = []

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        order.append(label)
        undo.append((owner, name, original))

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                samples[label].append(time.perf_counter() - start)

        setattr(owner, name, wrapper)

    timed(cog, "resolve_deliberation", "resolve_deliberation (which deliberation this thread is)")
    timed(Roundtable, "act", "Roundtable.act (engine decide + apply + store)")
    timed(Store, "append", "  of which Store.append (one SQLite transaction)")
    timed(flow, "safe_respond", "safe_respond (the ephemeral answer)")
    timed(flow, "show_change", "show_change (public post, after the answer)")
    timed(posting, "deliberation_channel", "  of which deliberation_channel (a row lookup)")
    timed(posting, "safe_send", "  of which sending the embed")
    timed(Store, "save_post", "  of which Store.save_post (remember the post)")
    world = await build_world(tmp, count + 20)
    try:
        for i in range(count + 20):
            if i == 20:
                samples.clear()
                gc.collect()
                gc.freeze()
            await world.members[i].slash(world.threads[i % THREADS], "position", stance="Support", reasoning=REASONING)
    finally:
        gc.unfreeze()
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)
        await world.env.shutdown()
        await world.bot.close_roundtable()
    return {label: timing(samples[label]) for label in order if samples[label]}


async def measure_unpatched(tmp: Path, iterations: int) -> dict[str, Timing]:
    """The settled time with SimCord's default 50 ms settle idle, for the record (few iterations)."""
    answers = ANSWERS
    out = Overhead()
    world = await build_world(tmp, 2 * iterations)
    try:
        for i in range(iterations):
            await one_round(world, i, answers, out)
    finally:
        await world.env.shutdown()
        await world.bot.close_roundtable()
    return {name: timing(out.settled[name]) for name in PATHS}


# --------------------------------------------------------------------------- 2. 1,000 open deliberations


def guild_ids() -> list[int]:
    return [GUILD_BASE + 1 + g for g in range(GUILDS)]


class StepClock:
    """The service's clock while creating: an hour before SimCord's start, a second per read."""

    def __init__(self) -> None:
        self.now = SIM_START - timedelta(hours=1)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


async def create_deliberations(tmp: Path, db: Path) -> float:
    """1,000 open deliberations in 100 guilds, each with AI seats, three positions and one member to go."""
    from unittest.mock import create_autospec

    from bot.ai.panel import AIPanel

    settings = settings_for(tmp, db, ai=True)
    panel = create_autospec(AIPanel, instance=True)
    panel.config = settings.ai
    service = await Roundtable.open(settings, StepClock(), ai=panel)
    start = time.perf_counter()
    moderator = Actor.human(1, "Moderator")
    for guild_id in guild_ids():
        for n in range(PER_GUILD):
            change = await service.start(
                guild_id, None, moderator, f"Question {n} of guild {guild_id}?", template="consent", round_minutes=1440
            )
            d = change.deliberation.id
            for m in range(POSITIONS):
                member = Actor.human(1000 + m, f"Member {m}")
                await service.act(
                    guild_id,
                    d,
                    lambda dl, at, a=member, m=m: dl.state_position(
                        a, "Support" if m % 2 else "Oppose", f"Reasoning {m} " * 30, at
                    ),
                )
            silent = Actor.human(2000, "Still thinking")
            await service.act(guild_id, d, lambda dl, at, a=silent: dl.join(a, Role.PARTICIPANT, at))
    elapsed = time.perf_counter() - start
    assert len(await service.deadlines(guild_ids()[0])) == PER_GUILD
    await service.close()
    panel.ask.assert_not_called()
    return elapsed


@dataclass
class Restore:
    """One fresh process starting the bot over a database (the child's JSON)."""

    start_s: float
    restore_s: float
    rss_before_kib: int
    rss_after_kib: int
    maxrss_kib: int
    deadlines: int
    half_time: int
    cached: int
    queries: dict[str, int]
    heap_growth_b: int | None = None
    heap_top: list[tuple[str, int]] | None = None


async def restore_child(db: Path, *, ai: bool, traced: bool, sim: bool) -> Restore:
    """Runs in its own process: restore every open deliberation of the 100 guilds, as a start does.

    `sim`: start a fresh `create_bot` in SimCord with the 100 guilds present (`env.start()`: setup_hook,
    READY, every `on_ready`). Otherwise the same code without the simulator: `setup_hook` (minus the
    command sync, which needs Discord), then what the two `on_ready` listeners do for the 100 guilds,
    `RoundtableBot.restore_all_deadlines` and `AIParticipants._restore`.
    """
    from bot.exts.ai._cog import AIParticipants
    from bot.store.store import Store

    tmp = db.parent
    settings = settings_for(tmp, db, ai=ai)
    counts: Counter[str] = Counter()
    spans: list[float] = []

    def counted(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return await original(*args, **kwargs)

        setattr(owner, name, wrapper)

    def spanned(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            spans.append(time.perf_counter())
            try:
                return await original(*args, **kwargs)
            finally:
                spans.append(time.perf_counter())

        setattr(owner, name, wrapper)

    for name in ("deliberations", "load_events", "deliberation", "guild_settings", "open_deadlines", "ai_due_times"):
        counted(Store, name)
    spanned(RoundtableBot, "restore_all_deadlines")
    spanned(AIParticipants, "_restore")

    env: simcord.Env | None = None
    if sim:
        clock = SimClock()
        bot = create_bot(settings, clock=clock)
        env = simcord.Env(bot)
        clock.env = env
        bot.external_wait = env.external_wait
        for guild_id in guild_ids():
            guild = env.create_guild(f"Guild {guild_id - GUILD_BASE}", id=guild_id)
            guild.create_text_channel("deliberations")
            guild.create_text_channel("archive")
    else:
        bot = create_bot(settings, clock=lambda: SIM_START)

        async def no_sync() -> None:
            return None

        bot.sync_commands = no_sync  # type: ignore[method-assign]
        await bot.setup_hook()
    gc.collect()
    rss_before = rss_kib()
    if traced:
        tracemalloc.start(1)
        snap_before = tracemalloc.take_snapshot()
        heap_before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    if env is not None:
        await env.start()
    else:
        cog = bot.get_cog("AIParticipants")
        assert isinstance(cog, AIParticipants)
        await bot.restore_all_deadlines(guild_ids())
        await cog._restore(guild_ids())
    start_s = time.perf_counter() - started
    gc.collect()
    rss_after = rss_kib()
    heap_growth, heap_top = None, None
    if traced:
        heap_growth = tracemalloc.get_traced_memory()[0] - heap_before
        diff = tracemalloc.take_snapshot().compare_to(snap_before, "filename")
        heap_top = [(_short(s.traceback[0].filename), s.size_diff) for s in diff[:6]]
        tracemalloc.stop()
    cog = bot.get_cog("AIParticipants")
    result = Restore(
        start_s=start_s,
        restore_s=(max(spans) - min(spans)) if spans else 0.0,
        rss_before_kib=rss_before,
        rss_after_kib=rss_after,
        # Not getrusage's ru_maxrss: after fork + exec it still counts the parent's pages.
        maxrss_kib=rss_kib("VmHWM"),
        deadlines=len(bot.deadlines),
        half_time=len(cog.half_time) if isinstance(cog, AIParticipants) else 0,
        cached=len(bot.roundtable._cache),  # the benchmark looks inside: deliberations held in memory
        queries=dict(counts),
        heap_growth_b=heap_growth,
        heap_top=heap_top,
    )
    assert not bot.roundtable._ai_started, "the model was started during the restore"
    if env is not None:
        await env.shutdown()
    await bot.close_roundtable()
    return result


def _short(filename: str) -> str:
    for marker in ("site-packages/", f"{ROOT}/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def run_child(db: Path, *, ai: bool, traced: bool, sim: bool) -> Restore:
    command = [sys.executable, "-m", "bench.discord_bench", "--restore-child", str(db)]
    command += ["--ai"] if ai else []
    command += ["--traced"] if traced else []
    command += ["--sim"] if sim else []
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, env=os.environ.copy(), timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"restore child failed:\n{done.stderr[-4000:]}")
    return Restore(**json.loads(done.stdout.strip().splitlines()[-1]))


def child_main(db: Path, *, ai: bool, traced: bool, sim: bool) -> None:
    if sim:
        # SimCord gives the start 5 s to settle; restoring with AI on takes far longer in the simulator.
        original = simcord_env.Env._settle_internal

        @functools.wraps(original)
        async def patient(self: simcord.Env, *, timeout: float | None = None, **kwargs: Any) -> None:  # noqa: ASYNC109
            await original(self, timeout=None if timeout is None else max(timeout, 500.0), **kwargs)

        simcord_env.Env._settle_internal = patient  # type: ignore[method-assign]
    try:
        result = asyncio.run(restore_child(db, ai=ai, traced=traced, sim=sim))
        print(json.dumps(result.__dict__), flush=True)
        code = 0
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stderr.flush()
    os._exit(code)  # an aiosqlite thread left behind by a failure must not keep the process alive


Key = tuple[str, str, bool]  # (mode: "service" | "sim", database: "empty" | "full", ai)


@dataclass
class RestoreResults:
    create_s: float
    runs: dict[Key, list[Restore]]
    traced: dict[Key, Restore]


def measure_restore(tmp: Path, repeats: int, sim_ai: bool) -> RestoreResults:
    full, empty = tmp / "full.sqlite3", tmp / "empty.sqlite3"
    create_s = asyncio.run(create_deliberations(tmp, full))
    asyncio.run(_empty_db(empty))
    dbs = (("empty", empty), ("full", full))
    runs: dict[Key, list[Restore]] = defaultdict(list)
    traced: dict[Key, Restore] = {}
    for _ in range(repeats):
        for ai in (False, True):
            for name, db in dbs:
                runs[("service", name, ai)].append(run_child(db, ai=ai, traced=False, sim=False))
        for name, db in dbs:
            runs[("sim", name, False)].append(run_child(db, ai=False, traced=False, sim=True))
    for ai in (False, True):
        for name, db in dbs:
            traced[("service", name, ai)] = run_child(db, ai=ai, traced=True, sim=False)
    if sim_ai:
        print("  SimCord start with AI on (slow in the simulator) ...", file=sys.stderr)
        runs[("sim", "full", True)].append(run_child(full, ai=True, traced=False, sim=True))
    return RestoreResults(create_s, dict(runs), traced)


async def _empty_db(path: Path) -> None:
    from bot.store.store import Store

    store = await Store.open(path)
    await store.close()


# --------------------------------------------------------------------------- report


def report(over: Overhead, res: RestoreResults, seconds: float, idle_patched: bool) -> str:
    answer = {name: timing(over.answer[name]) for name in PATHS}
    settled = {name: timing(over.settled[name]) for name in PATHS}
    pairs = (("position_slash", "bare_slash"), ("position_modal", "bare_modal"), ("position_modal", "bare_slash"))
    lines = [
        "## Discord surface (`bench/discord_bench.py`)",
        "",
        f"Rerun: `.venv/bin/python -m bench.discord_bench` (about {max(1, round(seconds / 60))} minute(s);"
        " rewrites this section).",
        "",
        f"Machine: {machine()}; discord.py {discord.__version__}, SimCord {simcord.__version__}.",
        "",
        "### Per-interaction overhead",
        "",
        f"One bot from `create_bot` (AI off, a SQLite file) in one SimCord env, {over.iterations:,} iterations"
        " of four paths in rotating order (after a warm-up). Bare handlers are plain discord.py on the same"
        " bot: a slash command that only replies, and a persistent button opening a modal with the same two"
        " `Label`-wrapped inputs whose submit only replies. Each position is a new member's (a new position,"
        f" posted as an embed), spread over {THREADS} deliberation threads.",
        "",
        "*To answer*: from the member's action to the bot's interaction response (the modal paths add the"
        " click's modal to the submit's answer). *Settled*: until SimCord has run all the bot's work for it,"
        " the public post included"
        + (f" (SimCord's settle polling set to {SETTLE_IDLE * 1000:.0f} ms, see below)." if idle_patched else ".")
        + " Milliseconds.",
        "",
        "| Path | to answer, median | p95 | settled, median | p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in PATHS:
        a, s = answer[name], settled[name]
        lines.append(f"| {LABELS[name]} | {ms(a.median)} | {ms(a.p95)} | {ms(s.median)} | {ms(s.p95)} |")
    lines += [
        "",
        "| Ratio (goal ≤ 1.3x) | to answer, medians | p95s | settled, medians | p95s |",
        "|---|---:|---:|---:|---:|",
    ]
    for mine, base in pairs:
        a = answer[mine].median / answer[base].median
        ap = answer[mine].p95 / answer[base].p95
        s = settled[mine].median / settled[base].median
        sp = settled[mine].p95 / settled[base].p95
        lines.append(
            f"| {LABELS[mine].split(' →')[0]} / {LABELS[base].split(' →')[0]} | {a:.2f}x | {ap:.2f}x |"
            f" {s:.2f}x | {sp:.2f}x |"
        )
    lines += [
        "",
        "Where a `/position`'s time goes (each step timed in place, separate run; median / p95 ms):",
        "",
        "| Step | median | p95 |",
        "|---|---:|---:|",
    ]
    for label, t in over.breakdown.items():
        lines.append(f"| {label} | {ms(t.median)} | {ms(t.p95)} |")
    lines += [
        "",
        "`resolve_deliberation` used to read the guild's open deliberations on every command used in a"
        " thread (0.23 ms median here before the change, and more with every open deliberation in the"
        " guild); it now remembers which deliberation a thread belongs to while that deliberation is open"
        " (`bot/exts/_shared/lookup.py`), and finds it, or a channel's (`discord.run_in_channel`), with an"
        " indexed query (`Store.open_deliberation_at`, migration 0003) instead of reading up to 1,000 open"
        " rows. `Store.save_post` is its own transaction after the message is sent, done in one round trip"
        " to the connection's thread (it took 1.3 ms as five awaited statements). `Store.append` is dearer"
        " here than in the store benchmark (about 0.15 ms per append there). Not because of the simulator's"
        " loop: a bare round trip to aiosqlite's thread costs about 60 µs inside and outside SimCord, and"
        " `Roundtable.act` called 300 times in a row inside one SimCord command took 0.25 ms median; the"
        " extra comes with the interactions around it (not investigated further).",
    ]
    if over.unpatched:
        u = over.unpatched
        lines += [
            "",
            "SimCord artefact: with its default settle polling (50 ms idle), settled medians over"
            f" {u['bare_slash'].n} iterations were bare slash {ms(u['bare_slash'].median)},"
            f" `/position` {ms(u['position_slash'].median)}, bare modal path {ms(u['bare_modal'].median)},"
            f" position modal path {ms(u['position_modal'].median)} ms: settling sleeps a whole interval when"
            " the last thing pending is a finished task's done-callback, which is nearly always the case"
            " for a handler that only replies. The settled figures above poll every millisecond.",
        ]
    lines += restore_report(res)
    lines += ["", "### Verdicts", "", *verdicts(answer, settled, res)]
    return "\n".join(lines)


def _med(runs: list[Restore], key: Callable[[Restore], float]) -> float:
    return statistics.median(key(r) for r in runs)


def _rss(r: Restore) -> float:
    return r.rss_after_kib - r.rss_before_kib


def restore_report(res: RestoreResults) -> list[str]:
    n = GUILDS * PER_GUILD
    repeats = len(res.runs[("service", "full", False)])
    lines = [
        "",
        f"### {n:,} open deliberations in {GUILDS} guilds",
        "",
        f"Created through `Roundtable.start` and `Roundtable.act` in {res.create_s:.1f} s ({PER_GUILD} per guild,"
        f" consent template, AI seats, {POSITIONS} positions each and one member yet to speak, a day per round)."
        " Every figure is a fresh process over that database, beside the same over an empty one:",
        "",
        "- *service*: `setup_hook` (service, extensions; not the command sync, which needs Discord), then"
        " for the 100 guilds what the two `on_ready` listeners do, `RoundtableBot.restore_all_deadlines`"
        " and `AIParticipants._restore`; memory is measured over that restore;",
        f"- *SimCord*: a fresh `create_bot` started in SimCord with the {GUILDS} guilds present (`env.start()`:"
        " setup_hook, READY, every `on_ready`); memory is measured over the whole start.",
        "",
        f"Median of {repeats} processes; Python heap growth from one more run under tracemalloc. *Restore* is"
        " from the first restore call to the last one's end.",
        "",
        "| AI participants | run | database | restore s | whole start s | VmRSS growth MiB |"
        " Python heap growth MiB | deadlines | half-time timers | deliberations replayed | store queries |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in sorted(res.runs, key=lambda k: (k[2], k[0] != "service", k[1] != "empty")):
        mode, name, ai = key
        runs, traced = res.runs[key], res.traced.get(key)
        r0 = runs[0]
        queries = ", ".join(f"`{k}` {v:,}" for k, v in sorted(r0.queries.items()))
        heap = f"{(traced.heap_growth_b or 0) / 2**20:.1f}" if traced else "-"
        lines.append(
            f"| {'on (default)' if ai else 'off'} | {'service' if mode == 'service' else 'SimCord'} |"
            f" {name if name == 'empty' else f'{n:,} open'} | {_med(runs, lambda r: r.restore_s):.3f} |"
            f" {_med(runs, lambda r: r.start_s):.2f} | {_med(runs, _rss) / 1024:.1f} | {heap} |"
            f" {r0.deadlines:,} | {r0.half_time:,} | {r0.cached:,} | {queries or '-'} |"
        )
    lines += ["", "Per deliberation (service runs, full minus empty, medians):", ""]
    for ai in (False, True):
        full, empty = res.runs[("service", "full", ai)], res.runs[("service", "empty", ai)]
        rss = (_med(full, _rss) - _med(empty, _rss)) / n
        heap = (
            (res.traced[("service", "full", ai)].heap_growth_b or 0)
            - (res.traced[("service", "empty", ai)].heap_growth_b or 0)
        ) / n
        restore = (_med(full, lambda r: r.restore_s) - _med(empty, lambda r: r.restore_s)) / n
        lines.append(
            f"- AI {'on' if ai else 'off'}: {rss:.1f} KiB resident, {heap / 1024:.1f} KiB of Python heap,"
            f" {restore * 1e6:,.0f} µs of restore; whole process peak (VmHWM)"
            f" {_med(full, lambda r: r.maxrss_kib) / 1024:.0f} MiB."
        )
    top = res.traced[("service", "full", True)].heap_top or []
    if top:
        lines += ["", f"Largest heap growth by file, AI on, {n:,} open (tracemalloc over the restore):", ""]
        lines += [f"- `{name}`: {size / 2**20:.2f} MiB" for name, size in top]
    return lines


def verdicts(answer: dict[str, Timing], settled: dict[str, Timing], res: RestoreResults) -> list[str]:
    slash = answer["position_slash"].median / answer["bare_slash"].median
    modal = answer["position_modal"].median / answer["bare_modal"].median
    s_slash = settled["position_slash"].median / settled["bare_slash"].median
    s_modal = settled["position_modal"].median / settled["bare_modal"].median
    met = slash <= 1.3 and modal <= 1.3
    extra = (answer["position_slash"].median - answer["bare_slash"].median) * 1000
    on = _med(res.runs[("service", "full", True)], lambda r: r.restore_s)
    off = _med(res.runs[("service", "full", False)], lambda r: r.restore_s)
    rss_on = (_med(res.runs[("service", "full", True)], _rss) - _med(res.runs[("service", "empty", True)], _rss)) / 1024
    sim_on = res.runs.get(("sim", "full", True))
    sim = f"; in SimCord the same start takes {_med(sim_on, lambda r: r.restore_s):.2f} s" if sim_on else ""
    replayed = res.runs[("service", "full", True)][0].cached
    held = (
        f", because its restore replays {replayed:,} open deliberations into the service's cache"
        if replayed
        else "; no deliberation is replayed: the half-time timers come from the stored `ai_due_at` (migration 0003)"
        " and a deliberation is loaded when its timer fires"
    )
    return [
        f"- Per-interaction overhead (goal: ≤ 1.3x a bare reply): {'met' if met else 'MISSED'} — to the"
        f" member's answer `/position` is {slash:.2f}x the bare command and the modal path {modal:.2f}x the"
        f" bare modal path ({s_slash:.2f}x and {s_modal:.2f}x settled, public post included). A stored"
        f" position adds {extra:.2f} ms before the answer, mostly the SQLite transaction and its thread hop,"
        " to a bare reply that costs a fraction of a millisecond in memory; on Discord, where every answer is"
        " a network round trip of tens of milliseconds, that is a few per cent.",
        f"- {GUILDS * PER_GUILD:,} open deliberations in {GUILDS} guilds (report only): restored in"
        f" {off * 1000:.0f} ms with AI off and {on * 1000:.0f} ms with AI on (the default){sim}; AI on holds"
        f" {rss_on:.0f} MiB more resident{held}.",
    ]


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations; print instead of writing the report")
    parser.add_argument("--no-idle-patch", action="store_true", help="keep SimCord's 50 ms settle polling")
    parser.add_argument("--restore-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ai", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sim", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-sim-ai", action="store_true", help="skip the slow SimCord start with AI on")
    args = parser.parse_args()
    if args.restore_child is not None:
        child_main(args.restore_child, ai=args.ai, traced=args.traced, sim=args.sim)
        return
    iterations, warmup, repeats, breakdown_n, unpatched_n = (
        (150, 20, 1, 100, 10) if args.quick else (1000, 50, 3, 500, 20)
    )
    started = time.perf_counter()
    ANSWERS.install()
    with tempfile.TemporaryDirectory(prefix="discord-bench-") as name:
        tmp = Path(name)
        undo = (lambda: None) if args.no_idle_patch else patch_settle_idle(SETTLE_IDLE)
        print(f"per-interaction overhead: {iterations} iterations ...", file=sys.stderr)
        (tmp / "o").mkdir()
        over = asyncio.run(measure_overhead(tmp / "o", iterations, warmup))
        print("breakdown ...", file=sys.stderr)
        (tmp / "b").mkdir()
        over.breakdown = asyncio.run(measure_breakdown(tmp / "b", breakdown_n))
        undo()
        if not args.no_idle_patch:
            print("settle artefact (SimCord defaults) ...", file=sys.stderr)
            (tmp / "u").mkdir()
            over.unpatched = asyncio.run(measure_unpatched(tmp / "u", unpatched_n))
        print("1,000 deliberations: create and restore ...", file=sys.stderr)
        (tmp / "r").mkdir()
        res = measure_restore(tmp / "r", repeats, sim_ai=not args.skip_sim_ai)
    body = report(over, res, time.perf_counter() - started, not args.no_idle_patch)
    if args.quick:
        print(body)
    else:
        write_section("discord", body)
        print(body)


if __name__ == "__main__":
    main()
