"""Adversary's tests for storage lost mid-run when only writes fail (a full disk, a file remounted
read-only): reads still work, and must not make the log say storage is back for every refused action."""

from __future__ import annotations

import logging

import pytest
import simcord
from deliberation_helpers import configure, fields, last, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from bot.store.store import Store

UNAVAILABLE = "Storage is unavailable, nothing was recorded. Try again in a moment."


async def _writes_fail(bot: RoundtableBot, fail: bool) -> None:
    """What a read-only remount does to the bot's open SQLite connection: reads work, writes fail
    with SQLITE_READONLY (as a full disk fails them with SQLITE_FULL)."""
    store = bot.roundtable.store
    assert isinstance(store, Store)
    cursor = await store._conn.execute(f"PRAGMA query_only = {'ON' if fail else 'OFF'}")
    await cursor.close()


async def test_a_store_that_only_refuses_writes_logs_one_outage_not_two_lines_per_action(
    env: simcord.Env, table: Table, bot: RoundtableBot, caplog: pytest.LogCaptureFixture
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    post = last(opened.where, "Position #")
    await _writes_fail(bot, True)
    caplog.clear()

    for name in ("Ann", "Bob", "Cy", "Di"):
        member = table.guild.add_member(env.create_user(name))
        voted = await member.click(post, label="Agree")
        assert voted.response is not None
        assert voted.response.content == UNAVAILABLE

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.store.faults" and r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert "is unavailable" in lines[0]

    await _writes_fail(bot, False)
    caplog.clear()
    voted = await table.grace.click(post, label="Agree")
    assert voted.response is not None
    assert "recorded" in voted.response.content
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.store.faults" and r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert "available again" in lines[0]
    assert "4 calls were refused" in lines[0]
    assert fields(last(opened.where, "Position #"))["Votes"] == "Agree 1 · Disagree 0 · Pass 0"
    assert await bot.roundtable.store.verify() == []
