"""Delivering what the bot owes Discord: the outbox's courier.

Every post a change owes (a contribution, an objection, a round announcement, the sealed record
in the thread and in `#archive`, the thread and agenda of a new deliberation) is stored in the
outbox in the same transaction as the change (`bot.service.owed_posts`). The courier posts them
in the order they were owed, one deliberation at a time, and marks each delivered with its
message. When Discord fails (a 5xx, a rate limit, no connection) the post stays owed and is
retried with backoff, also after a restart; when Discord refuses for good (a deleted channel,
missing permissions) it is given up, logged once, and the rest goes on.

Features register how each kind of post is made (`courier.register("round-opened", handler)`):
a handler gets the guild, the deliberation and the rest of the ref, posts, and returns the
message (or None when nothing is due there, e.g. no archive channel is set).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.errors import RoundtableError, StorageUnavailable
from bot.exts._shared.scheduler import DeadlineScheduler, Timers

if TYPE_CHECKING:
    from bot.service import Roundtable

log = logging.getLogger(__name__)

PostHandler = Callable[[int, Deliberation, str], Awaitable[discord.Message | None]]

# Backoff between attempts: 2 s, 4 s, 8 s, ... at most 10 minutes (an outage can be long).
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 600.0
# While storage is unavailable the owed posts stay owed (they are stored); look again this often.
STORAGE_RETRY_SECONDS = 10.0


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def _retryable(exc: Exception) -> bool:
    """Discord's outages and rate limits pass; its refusals (403, 404, 400) do not."""
    if isinstance(exc, discord.HTTPException):
        return exc.status >= 500 or exc.status == 429
    return isinstance(exc, OSError | asyncio.TimeoutError)


class Courier:
    def __init__(
        self,
        service: Callable[[], Roundtable],
        clock: Callable[[], datetime],
        *,
        timers: Timers | None = None,
        before_post: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._service = service  # the bot's service, open once the bot has started
        # Awaited before each post: the bot lets members waiting for an answer go first.
        self._before_post = before_post
        self._handlers: dict[str, PostHandler] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # Posts Discord took whose delivery could not be marked (storage went in between): the next
        # pass marks them with this message instead of posting them again. In memory: a restart
        # during the outage can still post one twice.
        self._unmarked: dict[tuple[int, str], tuple[int, int] | None] = {}
        self.retries = DeadlineScheduler(self._retry_due, clock, timers=timers)

    def register(self, kind: str, handler: PostHandler) -> None:
        """How posts whose ref starts with `kind` (before the first ':') are made."""
        self._handlers[kind] = handler

    async def deliver(self, guild_id: int, deliberation_id: int, *, background: bool = False) -> bool:
        """Post everything the deliberation owes, in order. True when nothing is left owed.

        Stops at the first post Discord could not take, so posts never overtake each other,
        and schedules the retry. `background`: nobody waits on this delivery to be answered, so
        each post first lets members waiting for an answer go first (`before_post`); a handler
        that delivers before answering its own member does not wait on itself.
        """
        lock = self._locks.setdefault(deliberation_id, asyncio.Lock())
        async with lock:
            try:
                if not await self._deliver_owed(guild_id, deliberation_id, background):
                    return False
            except StorageUnavailable:
                # Not Discord's failure and nothing is lost: try again once storage may be back
                # (a retry already set for a Discord failure stands). The store logs the outage.
                if deliberation_id not in self.retries:
                    retry_at = self._service().now() + timedelta(seconds=STORAGE_RETRY_SECONDS)
                    self.retries.schedule(guild_id, deliberation_id, retry_at)
                return False
            self.retries.cancel(deliberation_id)
            return True

    async def _deliver_owed(self, guild_id: int, deliberation_id: int, background: bool) -> bool:
        """One pass over what is owed now. False if a post could not be made (left owed)."""
        service = self._service()
        owed = await service.pending_posts(guild_id, deliberation_id)
        if not owed:
            return True
        for post in owed:
            if (deliberation_id, post.ref) in self._unmarked:
                made = self._unmarked[(deliberation_id, post.ref)]
                await service.post_delivered(guild_id, deliberation_id, post.ref, made)
                del self._unmarked[(deliberation_id, post.ref)]
                continue
            kind, _, rest = post.ref.partition(":")
            handler = self._handlers.get(kind)
            if handler is None:
                log.warning("Deliberation %s: no way to make post %s; left owed", deliberation_id, post.ref)
                return False
            if background and self._before_post is not None:
                await self._before_post()
            # Fetched after yielding to answers, not once per pass: an action applies its events to
            # the cached deliberation before they are stored, and one that failed to store left them
            # in the object fetched earlier (the service dropped it; this loads what is stored).
            d = await service.get(guild_id, deliberation_id)
            try:
                message = await handler(guild_id, d, rest)
            except StorageUnavailable:
                raise  # the handler could not read what it shows: not a failed (or refused) delivery
            except (TimeoutError, discord.HTTPException, OSError, RoundtableError, LookupError) as exc:
                if not await self._failed(guild_id, deliberation_id, post.ref, exc):
                    return False
                continue
            where = (message.channel.id, message.id) if message is not None else None
            self._unmarked[(deliberation_id, post.ref)] = where  # until marked: posted, whatever happens next
            await service.post_delivered(guild_id, deliberation_id, post.ref, where)
            del self._unmarked[(deliberation_id, post.ref)]
        return True

    async def _failed(self, guild_id: int, deliberation_id: int, ref: str, exc: Exception) -> bool:
        """Record a failed delivery. True if it was given up (go on with the next post)."""
        service = self._service()
        reason = f"{type(exc).__name__}: {getattr(exc, 'status', '')} {exc}".strip()
        if _retryable(exc):
            pending = next((p for p in await service.pending_posts(guild_id, deliberation_id) if p.ref == ref), None)
            attempts = (pending.attempts if pending else 0) + 1
            retry_at = service.now() + retry_delay(attempts)
            await service.post_failed(guild_id, deliberation_id, ref, reason, retry_at=retry_at)
            log.warning(
                "Deliberation %s: post %s not delivered (attempt %d, %s); retrying at %s",
                deliberation_id,
                ref,
                attempts,
                reason,
                f"{retry_at:%H:%M:%S}",
            )
            self.retries.schedule(guild_id, deliberation_id, retry_at)
            return False
        await service.post_failed(guild_id, deliberation_id, ref, reason, retry_at=None)
        log.warning("Deliberation %s: post %s refused by Discord (%s); given up", deliberation_id, ref, reason)
        return True

    async def _retry_due(self, guild_id: int, deliberation_id: int) -> None:
        await self.deliver(guild_id, deliberation_id, background=True)

    async def restore(self, guild_ids: Sequence[int]) -> None:
        """On start: deliver what was owed when the process stopped (now, in the background)."""
        if not guild_ids:
            return
        now = self._service().now()
        for guild_id, deliberations in (await self._service().owing(guild_ids)).items():
            for deliberation_id in deliberations:
                self.retries.schedule(guild_id, deliberation_id, now)

    def cancel_all(self) -> None:
        self.retries.cancel_all()


__all__ = ["Courier", "PostHandler", "retry_delay"]
