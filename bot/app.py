"""The one way to build the bot: `create_bot(settings)`.

`run`, the sandbox and every test build the bot here, so what is tested is what runs.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import pkgutil
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import discord
from discord.ext import commands

from bot import exts
from bot.ai.panel import AIPanel
from bot.ai.worker import ThreadedAIPanel
from bot.config import Settings
from bot.engine.errors import RoundtableError, StorageUnavailable
from bot.engine.events import owed_posts
from bot.exts._shared.errors import RoundtableTree
from bot.exts._shared.messages import NO_MENTIONS
from bot.exts._shared.outbox import Courier
from bot.exts._shared.priority import AnswersFirst
from bot.exts._shared.scheduler import DeadlineScheduler, Timers
from bot.service import Change, Roundtable

log = logging.getLogger(__name__)

CHANGE_EVENT = "roundtable_change"

T = TypeVar("T")
Clock = Callable[[], datetime]


class ExternalWait(Protocol):
    """`simcord.Env.external_wait`'s shape: await input that finishes outside the bot's loop."""

    def __call__(self, awaitable: Awaitable[T], /, *, reason: str) -> Awaitable[T]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def walk_extensions() -> Iterator[str]:
    """Every feature package under `bot/exts/` that has a `setup` (python-discord/bot's rule).

    Names starting with `_` are private helpers (`_shared`, `_cog`, ...) and are skipped.
    """

    def on_error(name: str) -> None:
        raise ImportError(name=name)

    for module in pkgutil.walk_packages(exts.__path__, f"{exts.__name__}.", onerror=on_error):
        if any(part.startswith("_") for part in module.name.split(".")):
            continue
        if module.ispkg:
            imported = importlib.import_module(module.name)
            if not inspect.isfunction(getattr(imported, "setup", None)):
                continue
        yield module.name


class RoundtableBot(commands.Bot):
    """The Discord side of Roundtable: commands and components over the `Roundtable` service."""

    def __init__(self, settings: Settings, *, clock: Clock, ai: AIPanel | None = None, **shards: Any) -> None:
        super().__init__(
            # Slash commands only; the prefix is never used but commands.Bot needs one.
            command_prefix=commands.when_mentioned,
            help_command=None,
            # No privileged intents: interactions carry the member and their roles.
            intents=discord.Intents(guilds=True),
            # The default for every send; the safe_* helpers also pass it explicitly.
            allowed_mentions=NO_MENTIONS,
            tree_cls=RoundtableTree,
            **shards,
        )
        self.settings = settings
        self.clock = clock
        # One task for every timer: deadlines, AI half-time (bot/exts/ai), outbox retries.
        self.timers = Timers(clock)
        self.deadlines = DeadlineScheduler(self._deadline_passed, clock, timers=self.timers)
        # On READY when storage was unavailable then: restore deadlines and owed posts once it is back.
        self._restores = DeadlineScheduler(self._restore_owned, clock, timers=self.timers)
        # Follow-up work (posts, refreshes) yields to members waiting for an answer.
        self.answers_first = AnswersFirst()
        self.courier = Courier(lambda: self.roundtable, clock, timers=self.timers, before_post=self.answers_first.wait)
        self._publishing: set[asyncio.Task[None]] = set()
        self._roundtable: Roundtable | None = None
        self._ai_panel = ai
        # Set by a harness (SimCord's `env.external_wait`) so that waiting on a worker thread
        # does not count as unsettled bot work; in production it is a plain await.
        self.external_wait: ExternalWait | None = None
        self._blocking_pool: ThreadPoolExecutor | None = None

    @property
    def roundtable(self) -> Roundtable:
        if self._roundtable is None:
            raise RuntimeError("the Roundtable service is not open (setup_hook has not run)")
        return self._roundtable

    # ----------------------------------------------------------------- lifecycle

    async def setup_hook(self) -> None:
        # Model calls run on their own thread and loop (bot.ai.worker); the wait is external.
        panel = self._ai_panel if self._ai_panel is not None else ThreadedAIPanel(AIPanel(self.settings.ai))
        if isinstance(panel, ThreadedAIPanel):
            panel.wait = self.wait_external
        self._roundtable = await Roundtable.open(self.settings, self.clock, ai=panel)
        for extension in walk_extensions():
            await self.load_extension(extension)
            log.debug("Loaded extension %s", extension)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Sync to the development guilds if configured (instant), else globally."""
        guild_ids = self.settings.discord.dev_guild_ids
        if not guild_ids:
            synced = await self.tree.sync()
            log.info("Synced %d global commands", len(synced))
            return
        for guild_id in guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %s", len(synced), guild_id)

    async def close_roundtable(self) -> None:
        """Stop deadline tasks and close the service; idempotent.

        `close()` calls this; SimCord never calls `close()`, so harnesses call it themselves.
        """
        self.deadlines.cancel_all()
        self.courier.cancel_all()
        self.timers.cancel_all()
        for task in self._publishing:
            task.cancel()
        if self._blocking_pool is not None:
            self._blocking_pool.shutdown(wait=False, cancel_futures=True)
            self._blocking_pool = None
        service, self._roundtable = self._roundtable, None
        if service is not None:
            await service.close()

    async def close(self) -> None:
        try:
            await self.close_roundtable()
        finally:
            await super().close()

    # ----------------------------------------------------------------- deadlines

    async def on_ready(self) -> None:
        # Also on every reconnect; scheduling is idempotent. Guilds present at startup may not
        # get `guild_available` (SimCord, and discord.py when `guild_ready_timeout` runs out).
        try:
            await self._restore_owned()
        except StorageUnavailable:
            # Storage went between opening it and READY: what is restored here (every deadline,
            # every owed post) would never be scheduled. Tried again on the timers, backing off,
            # until storage is back (the scheduler retries a handler that finds it unavailable).
            self._restores.schedule(0, 0, self.clock())

    async def _restore_owned(self, *_: int) -> None:
        guild_ids = self.owned_guild_ids()
        await self.courier.restore(guild_ids)
        await self.restore_all_deadlines(guild_ids)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self._restore_guild(guild.id)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._restore_guild(guild.id)

    async def _restore_guild(self, guild_id: int) -> None:
        try:
            await self.restore_deadlines(guild_id)
        except StorageUnavailable:
            self._restores.schedule(0, 0, self.clock())  # every owned guild, once storage is back

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.deadlines.cancel_guild(guild.id)
        self.roundtable.forget_guild(guild.id)

    # ----------------------------------------------------------------- shards

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves the guild: its shard ((id >> 22) % shard_count) is one of ours.

        Without sharding settings one process serves every guild. Another process may share the
        database; it restores and fires only its own guilds' timers (see README, "Several processes").
        """
        return self.settings.discord.owns(guild_id)

    def owned_guild_ids(self) -> list[int]:
        return [guild.id for guild in self.guilds if self.owns(guild.id)]

    async def restore_all_deadlines(self, guild_ids: Sequence[int]) -> None:
        """`restore_deadlines` for these guilds, from one query (per 900 guilds), not one per guild."""
        guild_ids = [g for g in guild_ids if self.owns(g)]
        deadlines = await self.roundtable.deadlines_in(guild_ids) if guild_ids else {}
        for guild_id in guild_ids:
            for deliberation_id, deadline in deadlines.get(guild_id, ()):
                self.deadlines.schedule(guild_id, deliberation_id, deadline)

    async def restore_deadlines(self, guild_id: int) -> None:
        """Schedule every open deliberation's current deadline in a guild from the database.

        Deadlines already past fire at once, which closes rounds that ran out while the bot
        was down.
        """
        if not self.owns(guild_id):
            return
        for deliberation_id, deadline in await self.roundtable.deadlines(guild_id):
            self.deadlines.schedule(guild_id, deliberation_id, deadline)

    async def _deadline_passed(self, guild_id: int, deliberation_id: int) -> None:
        try:
            change = await self.roundtable.close_due_round(guild_id, deliberation_id)
        except StorageUnavailable:
            raise  # not done: the scheduler fires it again once storage may be back
        except RoundtableError as exc:
            # Closed by hand or cancelled meanwhile: nothing to do.
            log.info("Deadline for deliberation %s not applied: %s", deliberation_id, exc.user_message)
            return
        if change is not None:
            log.info("Closed the due round of deliberation %s", deliberation_id)
            self.publish(guild_id, change)  # schedules the next round's deadline, among the rest
            return
        # Not due by the service's clock (or no longer open): follow the deliberation's own deadline,
        # only if it lies ahead, so a refused firing never spins.
        d = await self.roundtable.get(guild_id, deliberation_id)
        if d.is_open and d.round.deadline is not None and d.round.deadline > self.roundtable.now():
            self.deadlines.schedule(guild_id, d.id, d.round.deadline)

    # ----------------------------------------------------------- accepted changes

    def publish(self, guild_id: int, change: Change) -> None:
        """Announce an accepted change to every feature (`on_roundtable_change`).

        Whatever accepted an action (a slash command, a button, a modal, a deadline closing a
        round) calls this once the change is stored. Features listen with

            @commands.Cog.listener()
            async def on_roundtable_change(self, guild_id: int, change: Change) -> None: ...

        Publishing also keeps the deadline scheduler in step with the deliberation (a new round,
        an extension, a close), so no feature has to remember to.
        """
        d = change.deliberation
        if change.deadline_moved:
            if d.is_open and d.round.deadline is not None:
                self.deadlines.schedule(guild_id, d.id, d.round.deadline)
            else:
                self.deadlines.cancel(d.id)
        log.debug("Change in deliberation %s of guild %s: %s", d.id, guild_id, ", ".join(e.kind for e in change.events))
        task = asyncio.create_task(self._deliver_then_dispatch(guild_id, change), name=f"roundtable-publish-{d.id}")
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _deliver_then_dispatch(self, guild_id: int, change: Change) -> None:
        # The posts the change owes come first (round announcements before the AI's turn or the
        # dissent map they lead to); a delivery that fails is retried by the courier on its own.
        # A change that owes nothing (a vote, an endorsement) does not queue behind the deliberation's
        # deliveries: in a burst, forty votes are not forty passes over the outbox.
        try:
            if owed_posts(change.events):
                await self.courier.deliver(guild_id, change.deliberation.id, background=True)
        except Exception:
            log.exception("Delivering the posts of deliberation %s failed", change.deliberation.id)
        self.dispatch(CHANGE_EVENT, guild_id, change)

    # ----------------------------------------------------------- blocking work

    async def wait_external(self, awaitable: Awaitable[T], *, reason: str) -> T:
        """Await something that completes outside the event loop (a worker thread, a process)."""
        if self.external_wait is None:
            return await awaitable
        return await self.external_wait(awaitable, reason=reason)

    async def run_blocking(self, func: Callable[..., T], *args: Any, reason: str) -> T:
        """Run `func(*args)` on a worker thread (e.g. local model inference) and await it.

        Unlike `asyncio.to_thread`, the wait is declared external, so SimCord does not treat
        a slow generation as the bot failing to settle.
        """
        if self._blocking_pool is None:
            self._blocking_pool = ThreadPoolExecutor(thread_name_prefix="roundtable-blocking")
        future = self._blocking_pool.submit(func, *args)
        return await self.wait_external(asyncio.wrap_future(future), reason=reason)


class ShardedRoundtableBot(RoundtableBot, commands.AutoShardedBot):
    """The same bot over several gateway shards in one process (`discord.shard_count`, `shard_ids`)."""


def create_bot(settings: Settings, *, clock: Clock | None = None, ai: AIPanel | None = None) -> RoundtableBot:
    """A configured, not yet started bot. Storage opens in `setup_hook` and closes in `close`.

    `ai` replaces the AI panel the service uses (tests pass a spec'd fake, or a
    `ThreadedAIPanel` over a shared embedded server). By default it is the configured
    `AIPanel`, run on its own thread (`bot.ai.worker.ThreadedAIPanel`).
    """
    shards = settings.discord
    if shards.shard_count is None:
        return RoundtableBot(settings, clock=clock or utc_now, ai=ai)
    return ShardedRoundtableBot(
        settings,
        clock=clock or utc_now,
        ai=ai,
        shard_count=shards.shard_count,
        shard_ids=list(shards.shard_ids) if shards.shard_ids is not None else None,
    )
