"""Deadlines come from the database on start and fire on the simulator's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import simcord
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.errors import DeliberationClosed
from bot.exts._shared.scheduler import DeadlineScheduler
from bot.service import Roundtable


class DueRounds:
    """Stands in for the service's deadline queries (the deliberation store lands in phase 2)."""

    def __init__(self) -> None:
        self.open: dict[int, tuple[int, datetime]] = {}
        self.closed: list[tuple[int, datetime]] = []
        self.clock: Callable[[], datetime] = datetime.now

    async def deadlines(self, guild_id: int) -> list[tuple[int, datetime]]:
        return [(d, at) for d, (g, at) in self.open.items() if g == guild_id]

    async def deadlines_in(self, guild_ids: Sequence[int]) -> dict[int, list[tuple[int, datetime]]]:
        return {g: found for g in guild_ids if (found := await self.deadlines(g))}

    async def close_due_round(self, guild_id: int, deliberation_id: int) -> str:
        if deliberation_id not in self.open:
            raise DeliberationClosed("That deliberation is closed.")
        del self.open[deliberation_id]
        self.closed.append((deliberation_id, self.clock()))
        return "closed"


@pytest.fixture
def due(monkeypatch: pytest.MonkeyPatch, env: simcord.Env) -> DueRounds:
    rounds = DueRounds()
    rounds.clock = env.now

    # Patched on the class, so the service each restarted bot opens answers from `rounds`.
    async def deadlines(rt: Roundtable, guild_id: int) -> list[tuple[int, datetime]]:
        return await rounds.deadlines(guild_id)

    async def deadlines_in(rt: Roundtable, guild_ids: Sequence[int]) -> dict[int, list[tuple[int, datetime]]]:
        return await rounds.deadlines_in(guild_ids)

    async def close_due_round(rt: Roundtable, guild_id: int, deliberation_id: int) -> str:
        return await rounds.close_due_round(guild_id, deliberation_id)

    monkeypatch.setattr(Roundtable, "deadlines", deadlines)
    monkeypatch.setattr(Roundtable, "deadlines_in", deadlines_in)
    monkeypatch.setattr(Roundtable, "close_due_round", close_due_round)
    return rounds


async def test_a_deadline_restored_on_start_fires_on_the_simulated_clock(
    env: simcord.Env,
    table: Table,
    due: DueRounds,
    restart: Callable[[], Awaitable[RoundtableBot]],
) -> None:
    deadline = env.now() + timedelta(hours=24)
    due.open[7] = (table.guild.id, deadline)

    bot = await restart()
    assert bot.deadlines.deadline_of(7) == deadline

    await env.advance_time(24 * 3600 - 1)
    assert due.closed == []
    await env.advance_time(2)
    assert due.closed == [(7, deadline)]
    assert 7 not in bot.deadlines


async def test_a_round_that_ran_out_while_the_bot_was_down_closes_on_start(
    env: simcord.Env,
    table: Table,
    due: DueRounds,
    restart: Callable[[], Awaitable[RoundtableBot]],
) -> None:
    due.open[3] = (table.guild.id, env.now() - timedelta(minutes=5))

    await restart()

    assert [deliberation for deliberation, _ in due.closed] == [3]


async def test_a_refused_close_is_not_retried_forever(
    env: simcord.Env,
    table: Table,
    due: DueRounds,
    monkeypatch: pytest.MonkeyPatch,
    restart: Callable[[], Awaitable[RoundtableBot]],
) -> None:
    calls: list[int] = []

    async def refuse(rt: Roundtable, guild_id: int, deliberation_id: int) -> Any:
        calls.append(deliberation_id)
        raise DeliberationClosed("That deliberation is closed.")

    monkeypatch.setattr(Roundtable, "close_due_round", refuse)
    due.open[5] = (table.guild.id, env.now() - timedelta(seconds=1))

    bot = await restart()
    await env.advance_time(3600)

    assert calls == [5]
    assert 5 not in bot.deadlines


async def test_rescheduling_replaces_the_earlier_deadline() -> None:
    now = datetime(2026, 1, 1)
    fired: list[tuple[int, int]] = []

    async def on_deadline(guild_id: int, deliberation_id: int) -> None:
        fired.append((guild_id, deliberation_id))

    scheduler = DeadlineScheduler(on_deadline, lambda: now)
    scheduler.schedule(1, 10, now + timedelta(hours=1))
    scheduler.schedule(1, 10, now - timedelta(seconds=1))  # moved into the past: fires now
    scheduler.schedule(1, 11, now + timedelta(hours=1))
    assert scheduler.cancel(11)
    await asyncio.sleep(0.01)

    assert fired == [(1, 10)]
    assert len(scheduler) == 0
