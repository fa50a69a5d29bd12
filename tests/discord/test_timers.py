"""One timer task for every deliberation: deadlines fire once, on time, after extends, cancels and restarts.

Driven end to end in SimCord with the real service and store: the simulator's clock moves, the
bot's one scheduler task wakes for the earliest deadline, and each round closes exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import simcord
from deliberation_helpers import Opened, configure, messages, open_deliberation
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.events import EventKind, RoundClosed

MINUTE = 60


async def _kinds(bot: RoundtableBot, table: Table, number: int) -> list[str]:
    return [str(e.kind) for e in await bot.roundtable.store.load_events(table.guild.id, number)]


async def _closed(bot: RoundtableBot, table: Table, number: int) -> int:
    return (await _kinds(bot, table, number)).count(str(EventKind.ROUND_CLOSED))


async def _rounds_closed(bot: RoundtableBot, table: Table, number: int) -> list[int]:
    """The rounds closed, in order, by their index: a round closed twice would appear twice."""
    events = await bot.roundtable.store.load_events(table.guild.id, number)
    return [e.payload.round for e in events if isinstance(e.payload, RoundClosed)]


async def _open_many(table: Table, count: int, minutes: int = 60) -> list[Opened]:
    await configure(table)
    return [
        await open_deliberation(table, f"Question {i}: should we meet on Fridays?", round_minutes=minutes)
        for i in range(count)
    ]


async def test_many_deliberations_share_one_timer_task_and_each_deadline_fires_once(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened = await _open_many(table, 8)
    extended, cancelled, rest = opened[0], opened[1], opened[2:]

    result = await table.moderator.slash(extended.where, "deliberation extend", minutes=30)
    assert result.response is not None
    assert "now closes at 2026-01-01 01:30 UTC" in result.response.content
    result = await table.moderator.slash(cancelled.where, "deliberation cancel", reason="Asked twice")
    assert result.response is not None

    assert len(bot.deadlines) == 7  # the cancelled one is gone
    assert bot.timers.tasks == 1  # one sleeping task for all of them, not one per deliberation

    await env.advance_time(60 * MINUTE - 1)
    assert [await _closed(bot, table, o.id) for o in opened] == [0] * 8

    await env.advance_time(2)
    assert [await _closed(bot, table, o.id) for o in rest] == [1] * len(rest)
    assert await _closed(bot, table, extended.id) == 0
    assert await _closed(bot, table, cancelled.id) == 0
    for o in rest:
        # Members see the next round open, announced once.
        assert len(messages(o.where, "Round 2 of 4 open")) == 1, [m.embeds[0].title for m in messages(o.where)]
        d = await bot.roundtable.get(table.guild.id, o.id)
        assert d.round.index == 1
        assert bot.deadlines.deadline_of(o.id) == d.round.deadline  # the next round's deadline, scheduled

    await env.advance_time(30 * MINUTE)
    assert await _closed(bot, table, extended.id) == 1
    assert [await _closed(bot, table, o.id) for o in rest] == [1] * len(rest)
    assert str(EventKind.ROUND_CLOSED) not in await _kinds(bot, table, cancelled.id)
    assert cancelled.id not in bot.deadlines
    assert bot.timers.tasks == 1


async def test_a_round_closed_by_hand_never_fires_its_old_deadline(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    (first,) = await _open_many(table, 1, minutes=30)
    await env.advance_time(11 * MINUTE)  # past the minimum round duration
    result = await table.moderator.slash(first.where, "deliberation advance", force=True)
    assert result.response is not None
    assert await _closed(bot, table, first.id) == 1
    d = await bot.roundtable.get(table.guild.id, first.id)
    assert bot.deadlines.deadline_of(first.id) == d.round.deadline  # the dissent round's

    await env.advance_time(20 * MINUTE)  # the positions round's old deadline passes
    assert await _closed(bot, table, first.id) == 1
    await env.advance_time(11 * MINUTE)  # the dissent round's deadline passes
    assert await _closed(bot, table, first.id) == 2


async def test_deadlines_survive_a_restart_and_those_passed_while_down_fire_at_once(
    env: simcord.Env,
    table: Table,
    make_bot: Callable[[], RoundtableBot],
    restart: Callable[[], Awaitable[RoundtableBot]],
) -> None:
    early = await _open_many(table, 3, minutes=60)
    late = [await open_deliberation(table, f"Later {i}?", round_minutes=240) for i in range(2)]

    bot = await restart()
    assert {o.id for o in early + late} == {i for i in range(1, 6) if i in bot.deadlines}
    assert bot.timers.tasks == 1

    # Down for two hours: the first three rounds ran out meanwhile.
    await env.settle()
    bot.deadlines.cancel_all()
    await bot.close_roundtable()
    await env.advance_time(120 * MINUTE)
    new = make_bot()
    new.external_wait = env.external_wait
    await env.restart_bot(new)
    await env.settle()

    assert [await _closed(new, table, o.id) for o in early] == [1, 1, 1]
    assert [await _closed(new, table, o.id) for o in late] == [0, 0]
    await env.advance_time(120 * MINUTE + 1)
    assert [await _rounds_closed(new, table, o.id) for o in late] == [[0], [0]]
    # The early ones' next rounds (an hour each) opened at the restart and ran out since: each
    # round closed once, none twice.
    assert [await _rounds_closed(new, table, o.id) for o in early] == [[0, 1, 2]] * 3
