"""The AI panel on its own thread and event loop, so model calls never run on the bot's loop.

An AI turn is slow (seconds to minutes of generation) and talks HTTP to the model endpoint,
the embedded llama.cpp server included. `ThreadedAIPanel` runs every call of the wrapped
`AIPanel` (start, ask, close) on one dedicated thread with its own event loop; the bot's
loop only awaits the result through `wait`, which the bot sets to `RoundtableBot.wait_external`.
Under SimCord that declares the wait as external input, so settling does not hold the
interaction hostage to the model, and retries, back-off and timeouts run on real time on the
worker loop instead of the simulated clock. In production `wait` is a plain await.

The AI clients are created, used and closed on the worker loop only (an `httpx` connection
pool belongs to one loop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from bot.ai.embedded import EmbeddedServer
from bot.ai.panel import AIPanel
from bot.ai.participant import AIParticipant
from bot.ai.types import AIRequest, AIResult, AIUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Wait = Callable[..., Awaitable[Any]]
"""`(awaitable, *, reason) -> result`: how the bot's loop awaits work done elsewhere."""


async def _plain_wait(awaitable: Awaitable[T], *, reason: str) -> T:
    return await awaitable


class ThreadedAIPanel(AIPanel):
    """An `AIPanel` whose calls run on a worker thread's event loop (same interface)."""

    def __init__(self, inner: AIPanel, *, wait: Wait | None = None) -> None:
        # The wrapped panel holds the state; this object only moves calls to the worker loop.
        self.inner = inner
        self.config = inner.config
        self.wait: Wait = wait or _plain_wait
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # The wrapped panel's state, read and written through (AIPanel's attributes).
    @property
    def participants(self) -> list[AIParticipant]:
        return self.inner.participants

    @participants.setter
    def participants(self, value: list[AIParticipant]) -> None:
        self.inner.participants = value

    @property
    def server(self) -> EmbeddedServer:
        return self.inner.server

    @server.setter
    def server(self, value: EmbeddedServer) -> None:
        self.inner.server = value

    def _worker_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    ready.set()
                    loop.run_forever()

                # A new thread starts with an empty contextvars context, and every call is
                # submitted in an empty one too (`_submit`): nothing of the caller's leaks in.
                thread = threading.Thread(target=run, name="roundtable-ai", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """`asyncio.run_coroutine_threadsafe`, but the work runs in a fresh, empty context.

        `run_coroutine_threadsafe` copies the caller's contextvars into the worker's task; the
        caller's context can carry a harness's scope (SimCord's bot scope makes `time.monotonic`
        read the simulated clock), which would put the worker loop's timeouts on simulated time.
        """
        loop = self._worker_loop()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        async def run() -> None:
            try:
                result = await coro
            except BaseException as exc:
                if not future.cancelled():
                    future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                if not future.cancelled():
                    future.set_result(result)

        def start() -> None:
            task = loop.create_task(run(), context=contextvars.Context())
            # A caller that gives up (cancels the future) stops the work on the worker loop too.
            future.add_done_callback(lambda f: loop.call_soon_threadsafe(task.cancel) if f.cancelled() else None)

        loop.call_soon_threadsafe(start, context=contextvars.Context())
        return future

    async def _run(self, coro: Coroutine[Any, Any, T], *, reason: str) -> T:
        future = self._submit(coro)
        return await self.wait(asyncio.wrap_future(future), reason=reason)  # type: ignore[no-any-return]

    async def start(self) -> None:
        await self._run(self.inner.start(), reason="AI participants starting (model server loading)")

    def select(self, names: Sequence[str] | None = None) -> list[AIParticipant]:
        return self.inner.select(names)

    async def ask(self, request: AIRequest, names: Sequence[str] | None = None) -> list[AIResult | AIUnavailable]:
        return await self._run(self.inner.ask(request, names), reason="AI participants generating")

    async def each(
        self, request: AIRequest, names: Sequence[str] | None = None
    ) -> AsyncIterator[AIResult | AIUnavailable]:
        """`AIPanel.each` with every participant's call on the worker loop.

        The caller's own task does the waiting, each wait declared through `wait`: under SimCord
        a wait on sibling tasks would be an unknown wait, not the external one it is.
        """
        asked = list(names) if names is not None else [p.name for p in self.participants]
        pending = {asyncio.wrap_future(self._submit(self.inner.ask(request, [name]))) for name in asked}
        try:
            while pending:
                done, pending = await self.wait(
                    asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED), reason="AI participants generating"
                )
                for finished in done:
                    for answer in finished.result():
                        yield answer
        finally:
            for future in pending:
                future.cancel()

    async def aclose(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            await self.inner.aclose()
            return
        try:
            # A plain await: closing happens at shutdown, outside any interaction to settle.
            await asyncio.wrap_future(self._submit(self.inner.aclose()))
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None


__all__ = ["ThreadedAIPanel"]
