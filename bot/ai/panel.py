"""The bot's AI participants as one object: start once, ask many times, close once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence

from bot.ai.config import AIConfig
from bot.ai.embedded import EmbeddedServer, EmbeddedServerError
from bot.ai.participant import AIParticipant, Clock, Sleep, ask_all, participants_from_config
from bot.ai.types import AIRequest, AIResult, AIUnavailable

log = logging.getLogger(__name__)


class AIPanel:
    """Every configured AI participant, with the embedded server when one needs it.

    Starting never fails: if the embedded server cannot start, the participants that need
    it answer `AIUnavailable` and the deliberation goes on without them.
    """

    def __init__(
        self,
        config: AIConfig,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        server: EmbeddedServer | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self.server = server if server is not None else EmbeddedServer(config)
        self._owns_server = server is None
        self.participants: list[AIParticipant] = []

    async def start(self) -> None:
        if not self.config.enabled:
            return
        base_url: str | None = None
        if self.config.needs_embedded_server:
            try:
                base_url = self.server.base_url if self.server.running else await self.server.astart()
            except EmbeddedServerError as exc:
                log.error("AI: %s; embedded participants will be unavailable", exc)
        self.participants = participants_from_config(
            self.config, embedded_base_url=base_url, clock=self._clock, sleep=self._sleep
        )

    def select(self, names: Sequence[str] | None = None) -> list[AIParticipant]:
        """The participants called `names` (case-insensitive), or all of them."""
        if names is None:
            return list(self.participants)
        wanted = {n.casefold() for n in names}
        return [p for p in self.participants if p.name.casefold() in wanted]

    async def ask(self, request: AIRequest, names: Sequence[str] | None = None) -> list[AIResult | AIUnavailable]:
        return await ask_all(self.select(names), request)

    async def each(
        self, request: AIRequest, names: Sequence[str] | None = None
    ) -> AsyncIterator[AIResult | AIUnavailable]:
        """Ask the participants called `names` at once and yield each answer as soon as it is ready.

        The slowest participant holds back no one: a fast one's contribution can be stored and
        posted while the others are still generating. Leaving the loop early cancels the rest.
        """
        asked = list(names) if names is not None else [p.name for p in self.participants]
        pending = [asyncio.ensure_future(self.ask(request, [name])) for name in asked]
        try:
            for ready in asyncio.as_completed(pending):
                for answer in await ready:
                    yield answer
        finally:
            for task in pending:
                task.cancel()

    async def aclose(self) -> None:
        for participant in self.participants:
            await participant.aclose()
        if self._owns_server:
            await self.server.astop()
