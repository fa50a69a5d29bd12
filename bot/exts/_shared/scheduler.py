"""Every timer of the bot (round deadlines, AI half-time, outbox retries) in one heap, one task.

The database is the source of truth: on start the bot schedules every open deliberation's
current deadline (`RoundtableBot.restore_deadlines`), and a deadline that passed while the bot
was down fires at once. Rescheduling a deliberation replaces its entry, so an extended or
advanced round never fires twice.

One sleeping task per deliberation cost memory and, in the simulator, made every settle inspect
every pending timer; `Timers` keeps a heap of due times and one task that sleeps until the
earliest. Scheduling something earlier than that wakes it (the sleeping task is replaced); a
cancelled entry is only marked and dropped when it reaches the top. Each firing runs in its own
short task, so a slow handler (a round closing, a model call) never delays the next timer.

A handler that fails because storage is unavailable (the database went away mid-run) is not
done: its timer is set again a little later, backing off, until storage is back.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.engine.errors import StorageUnavailable

log = logging.getLogger(__name__)

DeadlineCallback = Callable[[int, int], Awaitable[None]]
"""Called with (guild_id, deliberation_id) once the deadline has passed."""

# Sleep at most this long before looking at the clock again, so a suspended machine or an
# adjusted wall clock delays a deadline by at most this much.
MAX_SLEEP_SECONDS = 6 * 3600.0
# A timer whose handler found storage unavailable fires again after this long, doubling up to the
# maximum: soon after the database is back, without a busy loop while it is down.
STORAGE_RETRY_SECONDS = 5.0
MAX_STORAGE_RETRY_SECONDS = 120.0


@dataclass(eq=False, slots=True)
class _Timer:
    owner: DeadlineScheduler
    guild_id: int
    deliberation_id: int
    deadline: datetime
    cancelled: bool = False
    fired: bool = False
    retries: int = 0  # times its handler already found storage unavailable


@dataclass(order=True, slots=True)
class _Slot:
    when: datetime
    seq: int
    timer: _Timer = field(compare=False)


class Timers:
    """A heap of timers served by one task that sleeps until the earliest is due."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._heap: list[_Slot] = []
        self._seq = itertools.count()
        self._cancelled = 0
        self._runner: asyncio.Task[None] | None = None
        self._wake_at: datetime | None = None
        self._firing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        """Timers waiting (cancelled ones excluded)."""
        return len(self._heap) - self._cancelled

    @property
    def tasks(self) -> int:
        """Asyncio tasks alive for the timers: the sleeper, and handlers still running."""
        sleeping = self._runner is not None and not self._runner.done()
        return int(sleeping) + sum(not t.done() for t in self._firing)

    def push(self, timer: _Timer) -> None:
        heapq.heappush(self._heap, _Slot(timer.deadline, next(self._seq), timer))
        if self._runner is None or self._runner.done():
            self._restart()
        elif self._wake_at is not None and timer.deadline < self._wake_at:
            # Asleep until a later timer: wake it. (Alive but not asleep yet, it reads the heap first.)
            self._restart()

    def discard(self, timer: _Timer) -> None:
        """Mark a timer cancelled; it leaves the heap when it reaches the top (or on compaction)."""
        if timer.cancelled:
            return
        timer.cancelled = True
        if timer.fired:
            return  # already out of the heap; its handler, not yet started, will not run
        self._cancelled += 1
        if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
            self._heap = [slot for slot in self._heap if not slot.timer.cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0
        if not len(self) and self._runner is not None:
            self._runner.cancel()
            self._runner = None
            self._wake_at = None

    def cancel_all(self) -> None:
        for slot in self._heap:
            slot.timer.cancelled = True
        self._heap.clear()
        self._cancelled = 0
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        self._wake_at = None
        for task in self._firing:
            if task is not asyncio.current_task():
                task.cancel()

    def _restart(self) -> None:
        # Called from bot code, never from inside the runner (it only sleeps and spawns), so the
        # task cancelled here is always asleep.
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
        self._wake_at = None
        self._runner = asyncio.create_task(self._run(), name="roundtable-timers")

    async def _run(self) -> None:
        while self._heap:
            top = self._heap[0]
            if top.timer.cancelled:
                heapq.heappop(self._heap)
                self._cancelled -= 1
                continue
            remaining = (top.when - self._clock()).total_seconds()
            if remaining > 0:
                self._wake_at = top.when
                await asyncio.sleep(min(remaining, MAX_SLEEP_SECONDS))
                continue
            heapq.heappop(self._heap)
            timer = top.timer
            timer.fired = True
            task = asyncio.create_task(timer.owner._fire(timer), name=f"roundtable-timer-{timer.deliberation_id}")
            self._firing.add(task)
            task.add_done_callback(self._firing.discard)
        self._wake_at = None
        self._runner = None


class DeadlineScheduler:
    """One timer per deliberation for one purpose (its round deadline, its AI half-time, ...).

    Several schedulers share the bot's `Timers` (one task for all); a scheduler made without one
    gets its own.
    """

    def __init__(
        self, on_deadline: DeadlineCallback, clock: Callable[[], datetime], *, timers: Timers | None = None
    ) -> None:
        self._on_deadline = on_deadline
        self._clock = clock
        self._timers = timers if timers is not None else Timers(clock)
        self._scheduled: dict[int, _Timer] = {}

    def __contains__(self, deliberation_id: object) -> bool:
        return deliberation_id in self._scheduled

    def __len__(self) -> int:
        return len(self._scheduled)

    def deadline_of(self, deliberation_id: int) -> datetime | None:
        entry = self._scheduled.get(deliberation_id)
        return entry.deadline if entry else None

    def schedule(self, guild_id: int, deliberation_id: int, deadline: datetime) -> None:
        """Fire at `deadline` (now, if it has passed), replacing any earlier schedule."""
        current = self._scheduled.get(deliberation_id)
        if current is not None:
            if current.deadline == deadline:
                return
            self._timers.discard(current)
        timer = _Timer(self, guild_id, deliberation_id, deadline)
        self._scheduled[deliberation_id] = timer
        self._timers.push(timer)

    def cancel(self, deliberation_id: int) -> bool:
        entry = self._scheduled.pop(deliberation_id, None)
        if entry is None:
            return False
        self._timers.discard(entry)
        return True

    def cancel_guild(self, guild_id: int) -> None:
        for deliberation_id, entry in list(self._scheduled.items()):
            if entry.guild_id == guild_id:
                self.cancel(deliberation_id)

    def cancel_all(self) -> None:
        for deliberation_id in list(self._scheduled):
            self.cancel(deliberation_id)

    async def _fire(self, timer: _Timer) -> None:
        if timer.cancelled:
            return
        if self._scheduled.get(timer.deliberation_id) is timer:
            del self._scheduled[timer.deliberation_id]
        try:
            await self._on_deadline(timer.guild_id, timer.deliberation_id)
        except StorageUnavailable:
            self._retry_later(timer)
        except Exception:
            log.exception("Deadline handler failed (guild=%s deliberation=%s)", timer.guild_id, timer.deliberation_id)

    def _retry_later(self, timer: _Timer) -> None:
        """Storage was unavailable, so the timer's work is not done: fire again later, unless the
        deliberation got a new schedule meanwhile. (The store logs the outage once; not here.)"""
        if timer.deliberation_id in self._scheduled:
            return
        delay = min(STORAGE_RETRY_SECONDS * 2**timer.retries, MAX_STORAGE_RETRY_SECONDS)
        when = self._clock() + timedelta(seconds=delay)
        again = _Timer(self, timer.guild_id, timer.deliberation_id, when, retries=timer.retries + 1)
        self._scheduled[timer.deliberation_id] = again
        self._timers.push(again)
        log.debug("Storage unavailable: deliberation %s's timer fires again at %s", timer.deliberation_id, when)
