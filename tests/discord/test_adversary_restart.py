"""Adversary's test: storage lost while the bot starts (after it opened the database, before the
gateway's READY) must not lose the deadlines and posts it restores then."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import simcord
from deliberation_helpers import configure, messages, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from tests.postgres import PostgresServer


async def test_a_deadline_due_while_storage_went_away_during_start_still_closes_its_round(
    env: simcord.Env,
    table: Table,
    private_server: PostgresServer,
    restart: Callable[[], Awaitable[RoundtableBot]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await configure(table)
    opened = await open_deliberation(table, round_minutes=60)
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    setup_hook = RoundtableBot.setup_hook

    async def opened_then_the_server_crashes(bot: RoundtableBot) -> None:
        await setup_hook(bot)  # the store is open
        private_server.crash()  # before READY restores deadlines and owed posts

    monkeypatch.setattr(RoundtableBot, "setup_hook", opened_then_the_server_crashes)
    bot = await restart()
    monkeypatch.undo()
    private_server.resume()

    await env.advance_time(61 * 60)  # past the round's deadline

    assert any(
        m.embeds[0].title.startswith("Round 1 of") and "closed" in m.embeds[0].title for m in messages(opened.where)
    )
    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert d.current == 1
