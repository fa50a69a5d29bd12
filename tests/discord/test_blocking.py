"""Work on another thread (local model inference) does not hold SimCord's settling hostage."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import discord
import simcord
from discord_harness import Table

from bot.app import RoundtableBot
from bot.exts._shared import RoundtableView, safe_respond


class _ThinkButton(RoundtableView):
    def __init__(self, bot: RoundtableBot, release: threading.Event) -> None:
        super().__init__(timeout=None)
        self.bot = bot
        self.release = release

    @discord.ui.button(label="Think", custom_id="rt:test:think")
    async def think(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer(thinking=True)
        answer = await self.bot.run_blocking(self._generate, reason="test model generating")
        await safe_respond(interaction, answer)

    def _generate(self) -> str:
        # Stands in for a slow local model: returns only when the test lets it.
        assert self.release.wait(timeout=10)
        return "considered answer"


async def test_a_slow_worker_thread_is_an_external_wait(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    release = threading.Event()
    channel = bot.get_channel(table.deliberations.id)
    assert isinstance(channel, discord.TextChannel)
    with env.time_context():
        message = await channel.send("think", view=_ThinkButton(bot, release))

    # Returns while the worker is still busy: deferred, no answer yet.
    result = await table.ada.click(message, label="Think")
    assert result.deferred
    assert result.response is None or result.response.content == ""

    release.set()
    for _ in range(100):
        await env.settle()
        if result.response is not None and result.response.content:
            break
        await asyncio.sleep(0.01)
    # The first follow-up after a "thinking" defer replaces the placeholder.
    assert result.response is not None
    assert result.response.content == "considered answer"
