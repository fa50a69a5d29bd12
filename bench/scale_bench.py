"""Scale benchmark in SimCord: open deliberations against answer time, and a burst of 2,000 interactions.

Run with `.venv/bin/python -m bench.scale_bench` (about ten minutes); it rewrites the "scale"
section of docs/benchmarks.md. `--quick` runs smaller and prints without writing.

1. Timers. 10 guilds of 20 members; 50, then 200 open deliberations (started with
   `/deliberation start`, AI participants seated but never due); then members state positions
   one after another (`/position`), measured from the member's action to the bot's answer and to
   SimCord's "settled". Once with the bot's scheduler (one task for every timer, a heap) and once
   with the previous design put back (one sleeping task per deliberation and per AI half-time
   timer, `PerTaskScheduler` below, verbatim from before).
2. Burst. 5 guilds of 40 members, 50 open deliberations: 20 in their positions round, 15 in
   dissent (three positions posted), 15 quick ones in consent. 2,000 interactions (800
   `/position`, 600 Agree clicks on a position, 600 Endorse clicks), in a shuffled order, are
   injected within one second of wall-clock time, without waiting for the bot between them.
   During the burst SimCord's settling and its loop bookkeeping are off (`production_loop`), so
   the bot runs on asyncio's own loop and timers as in production; its REST routes and payload
   building are metered and subtracted (`SimMeter`); answers later than Discord's three seconds
   are counted (*late*). The same interactions are then sent to the same bot
   with bare handlers (`bare_handlers`) for the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import discord
import simcord
from discord import app_commands

from bench._report import machine, write_section
from bot.app import RoundtableBot, create_bot
from bot.config import Settings
from bot.engine.events import ConsentGiven, ContributionAdded, Voted
from bot.engine.model import ContributionKind
from bot.sandbox import SimClock

MAX_SLEEP_SECONDS = 6 * 3600.0
ANSWER_WINDOW = 3.0  # Discord fails an interaction not answered within this many seconds
REASONING = "Fridays suit more of us: fewer clash with work and the room is free. " * 2


# --------------------------------------------------------------------------- the previous scheduler


class PerTaskScheduler:
    """The design replaced in issue 12: one asyncio task sleeping per deliberation (kept to compare)."""

    def __init__(self, on_deadline: Callable[[int, int], Awaitable[None]], clock: Callable[[], datetime]) -> None:
        self._on_deadline = on_deadline
        self._clock = clock
        self._scheduled: dict[int, tuple[int, datetime, asyncio.Task[None]]] = {}

    def __contains__(self, deliberation_id: object) -> bool:
        return deliberation_id in self._scheduled

    def __len__(self) -> int:
        return len(self._scheduled)

    def deadline_of(self, deliberation_id: int) -> datetime | None:
        entry = self._scheduled.get(deliberation_id)
        return entry[1] if entry else None

    def schedule(self, guild_id: int, deliberation_id: int, deadline: datetime) -> None:
        current = self._scheduled.get(deliberation_id)
        if current is not None:
            if current[1] == deadline and not current[2].done():
                return
            self._cancel(current[2])
        task = asyncio.create_task(self._fire_at(guild_id, deliberation_id, deadline))
        self._scheduled[deliberation_id] = (guild_id, deadline, task)

    def cancel(self, deliberation_id: int) -> bool:
        entry = self._scheduled.pop(deliberation_id, None)
        if entry is None:
            return False
        self._cancel(entry[2])
        return True

    def cancel_guild(self, guild_id: int) -> None:
        for deliberation_id, entry in list(self._scheduled.items()):
            if entry[0] == guild_id:
                self.cancel(deliberation_id)

    def cancel_all(self) -> None:
        for deliberation_id in list(self._scheduled):
            self.cancel(deliberation_id)

    @staticmethod
    def _cancel(task: asyncio.Task[None]) -> None:
        if task is not asyncio.current_task():
            task.cancel()

    async def _fire_at(self, guild_id: int, deliberation_id: int, deadline: datetime) -> None:
        while True:
            remaining = (deadline - self._clock()).total_seconds()
            if remaining <= 0:
                break
            await asyncio.sleep(min(remaining, MAX_SLEEP_SECONDS))
        entry = self._scheduled.get(deliberation_id)
        if entry is not None and entry[2] is asyncio.current_task():
            del self._scheduled[deliberation_id]
        await self._on_deadline(guild_id, deliberation_id)


def use_per_task_timers(bot: RoundtableBot) -> None:
    """Put the previous design back on a started bot (before any deliberation is opened)."""
    bot.deadlines = PerTaskScheduler(bot._deadline_passed, bot.clock)  # type: ignore[assignment]
    bot.courier.retries = PerTaskScheduler(bot.courier._retry_due, bot.clock)  # type: ignore[assignment]
    cog: Any = bot.get_cog("AIParticipants")
    cog.half_time = PerTaskScheduler(cog._half_time_passed, bot.clock)


# --------------------------------------------------------------------------- answers


class Stamps:
    """When discord.py built each interaction, and when the bot's response to it was accepted."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        # The simulator's running total (SimMeter) at each stamp.
        self.received_sim: dict[int, float] = {}
        self.answered_sim: dict[int, float] = {}
        self.installed = False

    def install(self) -> None:
        if self.installed:
            return
        self.installed = True
        original_init = discord.Interaction.__init__

        @functools.wraps(original_init)
        def init(interaction: discord.Interaction[Any], *args: Any, **kwargs: Any) -> None:
            original_init(interaction, *args, **kwargs)
            self.received[interaction.id] = time.perf_counter()
            self.received_sim[interaction.id] = SIM.total()

        discord.Interaction.__init__ = init  # type: ignore[method-assign]
        for name in ("send_message", "send_modal", "defer"):
            method = getattr(discord.InteractionResponse, name)
            setattr(discord.InteractionResponse, name, self._wrap(method))

    def _wrap(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def answered(response: discord.InteractionResponse[Any], *args: Any, **kwargs: Any) -> Any:
            interaction_id = response._parent.id
            try:
                return await method(response, *args, **kwargs)
            finally:  # also when the simulator refuses a late answer
                if interaction_id not in self.answered:
                    self.answered[interaction_id] = time.perf_counter()
                    self.answered_sim[interaction_id] = SIM.total()

        return answered


STAMPS = Stamps()


class SimMeter:
    """Wall time the event loop spends inside the simulator's code, as a running total.

    SimCord runs Discord's side in the bot's own process and loop: its REST routes (every message
    the bot posts or edits, every interaction response) and the building of each injected
    interaction. In production that work happens on Discord's servers while the bot's loop is free;
    here it holds the loop. Both are synchronous code (no await inside), so their wall time is the
    time they take from the bot. `total()` read at two instants gives the simulator's share between them.
    """

    def __init__(self) -> None:
        self._total = 0.0
        self._depth = 0
        self._since = 0.0

    def total(self) -> float:
        return self._total + (time.perf_counter() - self._since if self._depth else 0.0)

    def __enter__(self) -> None:
        if self._depth == 0:
            self._since = time.perf_counter()
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._total += time.perf_counter() - self._since

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The bot's own work inside the simulator's (discord.py parsing a gateway payload)."""
        depth, now = self._depth, time.perf_counter()
        if depth:
            self._total += now - self._since
            self._depth = 0
        try:
            yield
        finally:
            if depth:
                self._depth, self._since = depth, time.perf_counter()

    def install(self) -> None:
        import simcord.http.router as router
        from discord.state import ConnectionState

        original = router.dispatch

        @functools.wraps(original)
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            with self:
                return original(*args, **kwargs)

        router.dispatch = dispatch
        parse = ConnectionState.parse_interaction_create

        @functools.wraps(parse)
        def parse_interaction(state: ConnectionState[Any], data: Any) -> None:
            with self.paused():
                parse(state, data)

        ConnectionState.parse_interaction_create = parse_interaction  # type: ignore[method-assign]


SIM = SimMeter()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def settings_for(tmp: Path, name: str, **extra: Any) -> Settings:
    return Settings.load(
        tmp / "no-config.toml",
        read_env=False,
        database={"path": tmp / f"{name}.sqlite3"},
        discord={"run_in_channel": False},
        **extra,
    )


async def _bare_answer(interaction: discord.Interaction[Any]) -> None:
    with suppress(discord.NotFound):  # late: the simulator's three seconds passed
        await interaction.response.send_message("Noted.", ephemeral=True)


@contextmanager
def bare_handlers(bot: RoundtableBot) -> Iterator[None]:
    """The same commands and buttons answered at once by bare handlers (for the burst's baseline).

    discord.py still parses each interaction as it does for Roundtable (the slash command's options,
    the clicked message with its components, the dynamic item's custom id); only the handler's own
    work is gone.
    """
    from bot.exts.contributions._views import AnswerConsent, CastVote

    command = bot.tree.get_command("position")
    assert isinstance(command, app_commands.Command)
    saved = command._callback, CastVote.run, AnswerConsent.run

    async def position(_cog: Any, interaction: discord.Interaction[Any], *_: Any, **__: Any) -> None:
        await _bare_answer(interaction)

    async def click(_item: Any, interaction: discord.Interaction[Any]) -> None:
        await _bare_answer(interaction)

    command._callback = position  # type: ignore[assignment]
    CastVote.run = AnswerConsent.run = click  # type: ignore[method-assign]
    try:
        yield
    finally:
        command._callback, CastVote.run, AnswerConsent.run = saved  # type: ignore[method-assign]


@contextmanager
def production_loop(env: simcord.Env) -> Iterator[None]:
    """SimCord off the loop for the burst: asyncio's own scheduling, timers on the wall clock.

    SimCord wraps the loop's scheduling to learn when the bot has settled and to run timers on
    its virtual clock; every callback of the bot then pays for that bookkeeping, which production
    does not have, and with settling off its clock would stand still. During the burst the loop is
    asyncio's own, as in production: a timer the bot sets (its follow-ups' wait, a retry) fires
    after real seconds.
    """
    loop = asyncio.get_running_loop()
    runtime = env._runtime
    assert runtime is not None
    names = ("call_soon", "call_soon_threadsafe", "create_task", "call_later", "call_at")
    hooks = {name: getattr(loop, name) for name in names}
    for name in names:
        setattr(loop, name, getattr(runtime, name))
    try:
        yield
    finally:
        for name, hook in hooks.items():
            setattr(loop, name, hook)


@dataclass
class Guild:
    handle: Any
    channel: Any
    moderator: Any
    members: list[Any]
    moderators: Any


async def start_world(
    tmp: Path, name: str, guilds: int, members: int, *, old_timers: bool, **extra: Any
) -> tuple[simcord.Env, RoundtableBot, list[Guild]]:
    settings = settings_for(tmp, name, **extra)
    clock = SimClock()
    bot = create_bot(settings, clock=clock)
    env = simcord.Env(bot, settle_timeout=600.0)
    clock.env = env
    bot.external_wait = env.external_wait
    world = []
    for g in range(guilds):
        guild = env.create_guild(f"Guild {g}")
        moderators = guild.create_role("Moderators")
        channel = guild.create_text_channel("deliberations")
        moderator = guild.add_member(env.create_user(f"Moderator {g}"), roles=[moderators])
        people = [guild.add_member(env.create_user(f"Member {g}.{i}")) for i in range(members)]
        world.append(Guild(guild, channel, moderator, people, moderators))
    await env.start()
    if old_timers:
        use_per_task_timers(bot)
    for g in world:
        admin_role = g.handle.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
        admin = g.handle.add_member(env.create_user("Admin"), roles=[admin_role])
        await admin.slash(g.channel, "roundtable setup", moderator_role=g.moderators)
    return env, bot, world


async def open_deliberation(g: Guild, question: str, **options: Any) -> tuple[Any, int]:
    result = await g.moderator.slash(g.channel, "deliberation start", question=question, **options)
    assert result.response is not None, result
    assert "is open" in result.response.content, result
    number = int(result.response.content.split("#")[1].split()[0])
    return g.channel.threads[-1], number


# --------------------------------------------------------------------------- 1. timers


@dataclass
class TimerRun:
    open: int
    design: str
    answer: list[float] = field(default_factory=list)
    settled: list[float] = field(default_factory=list)
    tasks: int = 0


async def measure_timers(tmp: Path, open_count: int, *, old: bool, samples: int) -> TimerRun:
    # AI seated but never due in the bench (the quorum is never reached, half-time is 12 h away).
    env, bot, world = await start_world(
        tmp, f"timers-{open_count}-{old}", 10, 20, old_timers=old, deliberation={"quorum": 100}
    )
    run = TimerRun(open_count, "one task per timer (before)" if old else "one heap, one task (now)")
    for stamps in (STAMPS.received, STAMPS.answered, STAMPS.received_sim, STAMPS.answered_sim):
        stamps.clear()  # snowflakes repeat from one simulated world to the next
    try:
        threads = []
        for i in range(open_count):
            g = world[i % len(world)]
            thread, _ = await open_deliberation(g, f"Question {i}?", round_minutes=1440)
            threads.append((g, thread))
        run.tasks = sum(1 for t in asyncio.all_tasks() if not t.done())
        for s in range(samples):
            g, thread = threads[(s * 7) % len(threads)]
            member = g.members[s % len(g.members)]
            start = time.perf_counter()
            result = await member.slash(thread, "position", stance="Support", reasoning=REASONING)
            end = time.perf_counter()
            assert result.response is not None, result
            run.answer.append(STAMPS.answered[result._interaction.id] - start)
            run.settled.append(end - start)
        assert not list(env.errors_since(0)), env.errors_since(0)
    finally:
        await env.shutdown()
        await bot.close_roundtable()
    return run


# --------------------------------------------------------------------------- 2. the burst


@dataclass
class Burst:
    name: str
    sent: int = 0
    answered: int = 0
    bot_time: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    seconds_to_send: float = 0.0
    seconds_to_answer: float = 0.0
    seconds_to_settle: float = 0.0
    late: int = 0  # answered more than Discord's three seconds after the interaction arrived
    stored: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    writes: int = 0


async def build_burst_world(tmp: Path, name: str) -> tuple[simcord.Env, RoundtableBot, list[Action]]:
    """The 50 deliberations and the 2,000 actions to burst into them."""
    env, bot, world = await start_world(
        tmp, name, 5, 40, old_timers=False, deliberation={"quorum": 3, "min_round_minutes": 0}, ai={"enabled": False}
    )
    actions: list[Action] = []
    for i, g in enumerate(world):
        for n in range(4):  # positions round: every member states a position
            thread, _ = await open_deliberation(g, f"Positions {i}.{n}?", round_minutes=1440)
            actions += [Action("position", m, thread, thread) for m in g.members]
        for n in range(3):  # dissent round: every member votes Agree on the moderator's position
            thread, _ = await open_deliberation(g, f"Dissent {i}.{n}?", round_minutes=1440)
            await g.moderator.slash(thread, "position", stance="Support", reasoning=REASONING)
            await g.moderator.slash(thread, "deliberation advance", force=True)
            post = next(m for m in thread.history() if m.embeds and (m.embeds[0].title or "").startswith("Position #"))
            actions += [Action("vote", m, post, thread) for m in g.members]
        for n in range(3):  # consent round of a quick deliberation: every member endorses
            thread, _ = await open_deliberation(g, f"Consent {i}.{n}?", round_minutes=1440, template="quick")
            await g.moderator.slash(thread, "position", stance="Support", reasoning=REASONING)
            await g.moderator.slash(thread, "deliberation advance", force=True)
            consent = [m for m in thread.history() if m.embeds and "open: consent" in (m.embeds[0].title or "")][-1]
            actions += [Action("consent", m, consent, thread) for m in g.members]
    random.Random(12).shuffle(actions)
    return env, bot, actions


@dataclass
class Action:
    kind: str
    member: Any
    target: Any  # the thread for a slash command, the message for a click
    thread: Any


async def send(action: Action) -> Any:
    member = action.member
    if action.kind == "position":
        return await member.slash(action.target, "position", stance="Support", reasoning=REASONING)
    if action.kind == "vote":
        return await member.click(action.target, label="Agree")
    return await member.click(action.target, label="Endorse")


async def run_burst(tmp: Path, name: str, *, bare: bool, count: int, seconds: float) -> Burst:
    env, bot, actions = await build_burst_world(tmp, name)
    actions = actions[:count]
    burst = Burst("bare handlers (same commands and buttons)" if bare else "Roundtable (positions, votes, consent)")
    store = bot.roundtable.store
    ids: list[int] = []
    for stamps in (STAMPS.received, STAMPS.answered, STAMPS.received_sim, STAMPS.answered_sim):
        stamps.clear()
    try:
        await env.settle()
        before = await count_stored(bot)
        # The world built so far (mostly the simulator's) is not rescanned by every collection, as
        # discord_bench does; a bot process holds far less of it.
        gc.collect()
        gc.freeze()
        batches, writes = store.group.batches, store.group.writes
        settle = env._settle_internal

        async def no_settle(**_: Any) -> None:
            return None

        env._settle_internal = no_settle  # type: ignore[method-assign]
        with production_loop(env), bare_handlers(bot) if bare else nullcontext():
            start = time.perf_counter()
            for i, action in enumerate(actions):
                due = start + seconds * i / len(actions)
                if time.perf_counter() < due:
                    await asyncio.sleep(due - time.perf_counter())
                with SIM:
                    result = await send(action)
                ids.append(result._interaction.id)
            burst.seconds_to_send = time.perf_counter() - start
            # Wait for the answers without settling (settling is the simulator's own work on the loop).
            waited = time.perf_counter()
            while any(i not in STAMPS.answered for i in ids) and time.perf_counter() - waited < 120:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            burst.seconds_to_answer = time.perf_counter() - start
            # The follow-up work (posts, refreshes) runs to its end before SimCord takes the loop back.
            while bot._publishing and time.perf_counter() - waited < 600:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        env._settle_internal = settle  # type: ignore[method-assign]
        await env.settle(timeout=600)
        burst.seconds_to_settle = time.perf_counter() - start
        burst.sent = len(ids)
        answered = [i for i in ids if i in STAMPS.answered]
        burst.answered = len(answered)
        burst.late = sum(1 for i in answered if STAMPS.answered[i] - STAMPS.received[i] > ANSWER_WINDOW)
        burst.wall_time = [STAMPS.answered[i] - STAMPS.received[i] for i in answered]
        burst.bot_time = [
            (STAMPS.answered[i] - STAMPS.received[i]) - (STAMPS.answered_sim[i] - STAMPS.received_sim[i])
            for i in answered
        ]
        errors = list(env.errors_since(0))
        assert not errors, errors[:3]
        if not bare:
            burst.batches = store.group.batches - batches
            burst.writes = store.group.writes - writes
            after = await count_stored(bot)
            burst.stored = {k: after[k] - before[k] for k in after}
            burst.expected = {k: sum(1 for a in actions if a.kind == k) for k in after}
            assert await store.verify() == []
            assert await bot.roundtable.owing([g.id for g in bot.guilds]) == {}, "posts left owed after the burst"
    finally:
        gc.unfreeze()
        await env.shutdown()
        await bot.close_roundtable()
    return burst


async def count_stored(bot: RoundtableBot) -> dict[str, int]:
    """Positions, votes and consent answers of members in the stored events."""
    counts = {"position": 0, "vote": 0, "consent": 0}
    store = bot.roundtable.store
    for guild in bot.guilds:
        for row in await store.deliberations(guild.id, status=None, limit=1000):
            for event in await store.load_events(guild.id, row.id):
                p = event.payload
                if isinstance(p, ContributionAdded) and p.kind is ContributionKind.POSITION:
                    counts["position"] += 1
                elif isinstance(p, Voted):
                    counts["vote"] += 1
                elif isinstance(p, ConsentGiven):
                    counts["consent"] += 1
    return counts


# --------------------------------------------------------------------------- report


def report(timers: list[TimerRun], bursts: list[Burst], quick: bool) -> str:
    lines = [
        "## Scale: open deliberations and bursts (SimCord)",
        "",
        "Written by `bench/scale_bench.py`; rerun with `.venv/bin/python -m bench.scale_bench`"
        " (`make bench BENCH=scale`), about ten minutes" + (" (this run: --quick)" if quick else "") + ".",
        "",
        f"Machine: {machine()}.",
        "",
        "### Answer time against open deliberations",
        "",
        "10 guilds of 20 members; the open deliberations each have a deadline and an AI half-time timer"
        " (AI seated, never due). Members state positions one after another (`/position`); time from the"
        " member's action to the bot's answer, and to SimCord's \"settled\" (all the bot's work done)."
        ' "Before" puts the previous scheduler back (one sleeping task per deliberation and per AI timer).',
        "",
        "| open deliberations | timers | asyncio tasks alive | answer median | answer p95 | settled median |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for run in timers:
        lines.append(
            f"| {run.open} | {run.design} | {run.tasks} | {ms(statistics.median(run.answer))} ms"
            f" | {ms(pct(run.answer, 0.95))} ms | {ms(statistics.median(run.settled))} ms |"
        )
    lines += [
        "",
        "SimCord's settling inspects every pending bot task and timer on each pass, so with one task per"
        " timer each answer cost grew with the number of open deliberations; with one heap task it does not."
        " In production the bot also keeps one task and one timer handle for all its timers instead of one per timer.",
        "",
        "### A burst of interactions",
        "",
        "5 guilds of 40 members, 50 open deliberations (20 in positions, 15 in dissent, 15 quick ones in consent):"
        " 800 `/position`, 600 Agree clicks, 600 Endorse clicks, shuffled, injected at an even pace within the"
        " stated seconds without waiting between them. The baseline sends the same interactions to the same bot"
        " with bare handlers (the `/position` command and the two buttons answer at once), so discord.py parses"
        " the same payloads, options, messages and components for both.",
        "",
        "How the simulator's share is kept out: during the burst SimCord's settling is off and so is its"
        " bookkeeping on the loop (its wrappers around `call_soon`, `call_soon_threadsafe`, `create_task`,"
        " `call_later` and `call_at`, which it needs to know when the bot has settled and to run timers on its"
        " virtual clock: asyncio's own are put back, so the bot's timers run on the wall clock as in"
        " production). *Late* counts answers given more than 3 s (wall) after discord.py built the"
        " interaction, which Discord would have refused. What remains of the"
        " simulator on the loop, its REST routes (every post, edit and response) and its building of each"
        " injected payload, is metered (`SimMeter`, excluding discord.py's parsing inside it) and subtracted:"
        " *Bot* is the time from discord.py building the `Interaction` to the response being accepted, minus"
        " the simulator's time meanwhile; *Wall* is the same without the subtraction.",
        "",
        "| handler | sent | answered | late (> 3 s) | sent within | all answered after | bot p50 | bot p99"
        " | wall p50 | wall p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in bursts:
        lines.append(
            f"| {b.name} | {b.sent} | {b.answered} | {b.late} | {b.seconds_to_send:.2f} s"
            f" | {b.seconds_to_answer:.2f} s | {ms(pct(b.bot_time, 0.5))} ms | {ms(pct(b.bot_time, 0.99))} ms"
            f" | {ms(pct(b.wall_time, 0.5))} ms | {ms(pct(b.wall_time, 0.99))} ms |"
        )
    ours = next(b for b in bursts if b.stored)
    bare = next(b for b in bursts if not b.stored)
    ratio = pct(ours.bot_time, 0.99) / pct(bare.bot_time, 0.99)
    stored = ", ".join(f"{ours.stored[k]} of {ours.expected[k]} {k}s" for k in ours.expected)
    lines += [
        "",
        f"Stored: {stored} (`verify` passes afterwards, and nothing is left owed: every position is posted)."
        f" The {ours.writes} writes (appends and delivered posts) went to SQLite in {ours.batches} transactions"
        " (group commit, `synchronous = FULL`).",
        f"Bot p99 against the bare handlers': {ratio:.1f}x (goal: at most 2x, and under 100 ms).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="smaller; print instead of writing the report")
    parser.add_argument("--part", choices=["timers", "burst", "all"], default="all")
    args = parser.parse_args()
    samples, count = (20, 400) if args.quick else (40, 2000)
    STAMPS.install()
    SIM.install()
    timers: list[TimerRun] = []
    bursts: list[Burst] = []
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as name:
        tmp = Path(name)
        if args.part in ("timers", "all"):
            for open_count in (50, 200):
                for old in (True, False):
                    print(f"timers: {open_count} open, {'before' if old else 'now'} ...", file=sys.stderr)
                    timers.append(asyncio.run(measure_timers(tmp, open_count, old=old, samples=samples)))
        if args.part in ("burst", "all"):
            for bare in (False, True):
                print(f"burst: {'bare' if bare else 'roundtable'} ...", file=sys.stderr)
                bursts.append(
                    asyncio.run(run_burst(tmp, f"burst-{bare}", bare=bare, count=count, seconds=count / 2000))
                )
    text = report(timers, bursts, args.quick) if timers and bursts else repr((timers, bursts))
    print(text)
    if not args.quick and timers and bursts:
        write_section("scale", text)


if __name__ == "__main__":
    main()
