"""Answers first: the bot's follow-up work yields to members waiting for an answer.

Discord fails an interaction not answered within three seconds. An answer needs the action
stored and one response; what follows it (posting a position in the thread, refreshing a tally or
a round's count) can wait a moment, and in a burst it is most of the work. The answer path marks
itself (`answering()`, around store-and-respond); follow-up work awaits `wait()` before each unit
(a post, an edit): at once when no answer is under way, otherwise when none is, or after at most
`MAX_WAIT` seconds, so follow-ups are delayed, never starved. Nothing is dropped: posts stay owed
in the outbox meanwhile, as when Discord is slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

# The longest a unit of follow-up work waits for answers under way (Discord's own window to
# answer an interaction: an answer slower than this has failed anyway).
MAX_WAIT = 3.0


class AnswersFirst:
    def __init__(self) -> None:
        self._answering = 0
        # Resolved when the last answer under way is sent, or MAX_WAIT after the first follow-up
        # began waiting (one timer for all the waiters, not one each: a burst has hundreds).
        self._released: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around storing an action and answering its member."""
        self._answering += 1
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._release()

    async def wait(self) -> None:
        """Return once no answer is under way, or after at most `MAX_WAIT` seconds."""
        if self._answering == 0:
            return
        if self._released is None:
            loop = asyncio.get_running_loop()
            self._released = loop.create_future()
            self._timer = loop.call_later(MAX_WAIT, self._release)
        # Shielded: a waiter cancelled (the bot closing) leaves the others waiting as they were.
        await asyncio.shield(self._released)

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._released is not None:
            if not self._released.done():
                self._released.set_result(None)
            self._released = None


__all__ = ["MAX_WAIT", "AnswersFirst"]
