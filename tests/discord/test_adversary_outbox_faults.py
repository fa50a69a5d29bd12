"""Adversary's test: storage lost between Discord taking a post and the outbox marking it delivered
must not make the courier post it a second time when storage is back."""

from __future__ import annotations

from typing import Any

import pytest
import simcord
from deliberation_helpers import configure, messages, open_deliberation
from discord_harness import Table

from bot.app import RoundtableBot
from bot.service import Roundtable
from tests.postgres import PostgresServer


async def test_a_post_made_as_storage_went_is_not_made_twice(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    private_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    post_delivered = Roundtable.post_delivered

    async def posted_then_the_server_crashes(rt: Roundtable, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(Roundtable, "post_delivered", post_delivered)
        private_server.crash()  # Discord has the post; marking it delivered fails
        return await post_delivered(rt, *args, **kwargs)

    monkeypatch.setattr(Roundtable, "post_delivered", posted_then_the_server_crashes)
    stated = await table.ada.slash(opened.where, "position", stance="support", reasoning="Fridays suit us.")
    assert stated.response is not None
    assert "recorded" in stated.response.content
    assert len(messages(opened.where, "Position #1")) == 1

    private_server.resume()
    await env.advance_time(120)  # the courier's retries, storage back

    assert len(messages(opened.where, "Position #1")) == 1
    assert await bot.roundtable.owing([table.guild.id]) == {}
    assert await bot.roundtable.post(table.guild.id, opened.id, "c:1") is not None
