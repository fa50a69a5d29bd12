"""One asyncio task per deliberation deadline.

The database is the source of truth: on start the bot schedules every open deliberation's
current deadline (`RoundtableBot.restore_deadlines`), and a deadline that passed while the bot
was down fires at once. Rescheduling a deliberation replaces its task, so an extended or
advanced round never fires twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)

DeadlineCallback = Callable[[int, int], Awaitable[None]]
"""Called with (guild_id, deliberation_id) once the deadline has passed."""

# Sleep at most this long before looking at the clock again, so a suspended machine or an
# adjusted wall clock delays a deadline by at most this much.
MAX_SLEEP_SECONDS = 6 * 3600.0


@dataclass(slots=True)
class _Scheduled:
    guild_id: int
    deadline: datetime
    task: asyncio.Task[None]


class DeadlineScheduler:
    def __init__(self, on_deadline: DeadlineCallback, clock: Callable[[], datetime]) -> None:
        self._on_deadline = on_deadline
        self._clock = clock
        self._scheduled: dict[int, _Scheduled] = {}

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
            if current.deadline == deadline and not current.task.done():
                return
            self._cancel(current)
        task = asyncio.create_task(
            self._fire_at(guild_id, deliberation_id, deadline),
            name=f"roundtable-deadline-{deliberation_id}",
        )
        self._scheduled[deliberation_id] = _Scheduled(guild_id, deadline, task)

    def cancel(self, deliberation_id: int) -> bool:
        entry = self._scheduled.pop(deliberation_id, None)
        if entry is None:
            return False
        self._cancel(entry)
        return True

    def cancel_guild(self, guild_id: int) -> None:
        for deliberation_id, entry in list(self._scheduled.items()):
            if entry.guild_id == guild_id:
                self.cancel(deliberation_id)

    def cancel_all(self) -> None:
        for deliberation_id in list(self._scheduled):
            self.cancel(deliberation_id)

    @staticmethod
    def _cancel(entry: _Scheduled) -> None:
        # A callback may reschedule its own deliberation (the next round); never cancel the
        # task that is running that callback.
        if entry.task is not asyncio.current_task():
            entry.task.cancel()

    async def _fire_at(self, guild_id: int, deliberation_id: int, deadline: datetime) -> None:
        while True:
            remaining = (deadline - self._clock()).total_seconds()
            if remaining <= 0:
                break
            await asyncio.sleep(min(remaining, MAX_SLEEP_SECONDS))
        entry = self._scheduled.get(deliberation_id)
        if entry is not None and entry.task is asyncio.current_task():
            del self._scheduled[deliberation_id]
        try:
            await self._on_deadline(guild_id, deliberation_id)
        except Exception:
            log.exception("Deadline handler failed (guild=%s deliberation=%s)", guild_id, deliberation_id)
