"""The database lost mid-run, the real bot in SimCord on its own PostgreSQL server.

The server is crashed (`pg_ctl stop -m immediate`) while members act and a deadline comes due:
members are told, in a short ephemeral answer, that storage is unavailable and nothing was
recorded; nothing new appears in the thread; the deadline is not lost. Once the server is back,
without restarting the bot, the same actions are stored once and the round closes once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import simcord
from deliberation_helpers import configure, event_count, last, messages, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.errors import STORAGE_UNAVAILABLE, StorageUnavailable
from bot.exts._shared import scheduler
from bot.exts._shared.scheduler import MAX_STORAGE_RETRY_SECONDS, DeadlineScheduler
from bot.service import Roundtable
from tests.postgres import PostgresServer


async def test_a_database_lost_mid_run_refuses_actions_keeps_the_deadline_and_recovers_without_a_restart(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    private_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await configure(table)
    opened = await open_deliberation(table, template="quick", round_minutes=60)
    assert "as #1" in await state_position(table.ada, opened, "Support", "Fridays suit us.")
    ada_post = last(opened.where, "Position #1")
    shown_before = [m.id for m in messages(opened.where)]
    stored_before = await event_count(bot, table, opened.id)

    private_server.crash()

    # A position (slash command and the agenda's modal) and a vote: each is refused, shortly and
    # only to the member, with the same words.
    by_command = await table.grace.slash(opened.where, "position", stance="Oppose", reasoning="Fridays are busy.")
    assert by_command.ephemeral
    assert by_command.response.content == STORAGE_UNAVAILABLE  # type: ignore[union-attr]
    assert await state_position(table.grace, opened, "Oppose", "Fridays are busy.") == STORAGE_UNAVAILABLE
    vote = await table.linus.click(ada_post, label="Agree")
    assert vote.ephemeral
    assert vote.response.content == STORAGE_UNAVAILABLE  # type: ignore[union-attr]
    assert [m.id for m in messages(opened.where)] == shown_before

    # The round's deadline passes while the server is down: not closed, not forgotten. (Ten more
    # minutes down: its retries back off, so the next is not due the moment the server is back.)
    await env.advance_time(60 * 60 + 10 * 60)
    assert not messages(opened.where, "Round 1 of 2 closed")
    retry = bot.deadlines.deadline_of(opened.id)
    assert retry is not None
    assert retry > env.now()
    assert [m.id for m in messages(opened.where)] == shown_before

    # One line for the outage, not a traceback per interaction or per retry.
    lost = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    assert len(lost) == 1, [r.getMessage() for r in lost]
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]

    private_server.resume()

    # The same member's action now succeeds and is stored once.
    stated = await table.grace.slash(opened.where, "position", stance="Oppose", reasoning="Fridays are busy.")
    assert "as #2" in stated.response.content  # type: ignore[union-attr]
    voted = await table.linus.click(ada_post, label="Agree")
    assert "agree" in voted.response.content.lower()  # type: ignore[union-attr]
    assert [m.embeds[0].description for m in messages(opened.where, "Position #2")] == ["Fridays are busy."]
    assert any("available again" in r.getMessage() for r in caplog.records)

    # The deadline that came due meanwhile closes its round, exactly once.
    await env.advance_time(MAX_STORAGE_RETRY_SECONDS + 1)
    assert len(messages(opened.where, "Round 1 of 2 closed")) == 1
    assert len(messages(opened.where, "Round 2 of 2 open: consent")) == 1
    await env.advance_time(MAX_STORAGE_RETRY_SECONDS + 1)
    assert len(messages(opened.where, "Round 1 of 2 closed")) == 1

    events = await bot.roundtable.store.load_events(table.guild.id, opened.id)
    kinds = [e.kind for e in events[stored_before:]]
    assert kinds.count("contribution.added") == 1  # Grace's position, once
    assert kinds.count("vote.cast") == 1  # Linus's vote, once
    assert kinds.count("round.closed") == 1
    assert await bot.roundtable.store.verify() == []


async def test_posts_owed_when_the_database_goes_away_are_delivered_once_it_is_back(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    private_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    # Discord fails first: the position is stored and its post owed, retried by the courier.
    env.inject_error("POST", f"/channels/{opened.where.id}/messages", status=500, times=None)
    stated = await table.ada.slash(opened.where, "position", stance="Support", reasoning="Fridays suit us.")
    assert "recorded as #1" in stated.response.content  # type: ignore[union-attr]

    # Then the database goes, and Discord comes back: the courier cannot read what it owes.
    private_server.crash()
    env.backend.faults.clear()
    await env.advance_time(5 * 60)
    assert not messages(opened.where, "Position #")
    assert bot.courier.retries.deadline_of(opened.id) is not None  # still owed, still retried
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]

    private_server.resume()
    await env.advance_time(60)
    posted = messages(opened.where, "Position #1")
    assert [m.embeds[0].description for m in posted] == ["Fridays suit us."]
    assert await bot.roundtable.pending_posts(table.guild.id, opened.id) == []
    await env.advance_time(10 * 60)
    assert len(messages(opened.where, "Position #1")) == 1


async def test_a_timer_whose_handler_finds_storage_unavailable_fires_again_and_a_new_schedule_stands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduler, "STORAGE_RETRY_SECONDS", 0.01)  # real time here, not SimCord's
    later = datetime.now(UTC) + timedelta(days=1)
    calls: list[int] = []

    async def handler(guild_id: int, deliberation_id: int) -> None:
        calls.append(deliberation_id)
        if deliberation_id == 8:
            timers.schedule(guild_id, 8, later)  # e.g. extended meanwhile: that schedule stands
            raise StorageUnavailable()
        if len(calls) < 3:
            raise StorageUnavailable()

    timers = DeadlineScheduler(handler, lambda: datetime.now(UTC))
    timers.schedule(1, 7, datetime.now(UTC))
    for _ in range(500):
        if calls.count(7) >= 3:
            break
        await asyncio.sleep(0.01)
    assert calls.count(7) == 3  # twice refused, then done
    assert 7 not in timers

    timers.schedule(1, 8, datetime.now(UTC))
    for _ in range(500):
        if 8 in calls:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert calls.count(8) == 1
    assert timers.deadline_of(8) == later
    timers.cancel_all()


async def test_storage_lost_right_after_an_action_was_stored_does_not_tell_the_member_it_was_not(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    private_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Support", "Fridays suit us.")
    ada_post = last(opened.where, "Position #1")
    act = Roundtable.act

    async def stored_then_the_server_crashes(rt: Roundtable, *args: Any, **kwargs: Any) -> Any:
        change = await act(rt, *args, **kwargs)  # the real action, stored
        private_server.crash()  # before the post showing it is refreshed
        return change

    monkeypatch.setattr(Roundtable, "act", stored_then_the_server_crashes)
    voted = await table.linus.click(ada_post, label="Agree")
    monkeypatch.undo()
    assert "agree" in voted.response.content.lower()  # type: ignore[union-attr]
    assert voted.followups == []  # no "nothing was recorded" after "you agree"
    # The refresh showing it failed: tried again later (bot.exts._shared.posting), not apologised for.
    assert any("not refreshed" in r.getMessage() and "trying again" in r.getMessage() for r in caplog.records)

    private_server.resume()
    events = await bot.roundtable.store.load_events(table.guild.id, opened.id)
    assert [e.kind for e in events].count("vote.cast") == 1
