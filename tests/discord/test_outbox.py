"""Every post the bot owes reaches Discord, after its errors and after a restart (the outbox)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import simcord
from deliberation_helpers import Opened, advance, configure, fields, messages, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from bot.cli import main as cli_main
from bot.exts._shared.errors import APOLOGY


def _discord_fails(env: simcord.Env, where: simcord.ChannelHandle, status: int = 500) -> None:
    env.inject_error("POST", f"/channels/{where.id}/messages", status=status, times=None)


def _discord_recovers(env: simcord.Env) -> None:
    env.backend.faults.clear()


async def _answered_consent(table: Table) -> Opened:
    """A quick deliberation in its consent round, answered by Ada: the next advance seals it."""
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Support", "Yes.")
    await advance(table.moderator, opened.where, force=True)
    consent_round = messages(opened.where, "Round 2 of 2 open: consent")[-1]
    await table.ada.click(consent_round, label="Endorse")
    return opened


async def test_a_position_stored_while_discord_fails_is_told_truthfully_and_appears_once_discord_is_back(
    env: simcord.Env, table: Table, bot: RoundtableBot, caplog: pytest.LogCaptureFixture
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    _discord_fails(env, opened.where)

    stated = await table.ada.slash(opened.where, "position", stance="Support", reasoning="Fridays suit us.")
    assert stated.ephemeral
    reply = stated.response.content  # type: ignore[union-attr]
    assert reply != APOLOGY
    # Answered as soon as it is stored, never "posted": the post is Discord's to take.
    assert "is recorded as #1; it is being posted in the thread" in reply
    assert not messages(opened.where, "Position #")
    assert "post c:1 not delivered" in caplog.text

    # Edited while still owed: the post, when it comes, shows the current text.
    edited = await table.ada.slash(opened.where, "position", stance="Support", reasoning="Fridays suit most of us.")
    assert "is updated" in edited.response.content  # type: ignore[union-attr]

    _discord_recovers(env)
    await env.advance_time(60)
    posted = messages(opened.where, "Position #1")
    assert len(posted) == 1
    assert posted[0].embeds[0].description == "Fridays suit most of us."
    assert await bot.roundtable.pending_posts(table.guild.id, opened.id) == []


async def test_a_record_sealed_during_an_outage_is_posted_in_the_thread_and_archive_after_a_restart(
    env: simcord.Env, table: Table, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    opened = await _answered_consent(table)
    _discord_fails(env, opened.where)
    _discord_fails(env, table.archive)
    await advance(table.moderator, opened.where, force=True)
    assert not messages(opened.where, "Decision record #")
    assert not messages(table.archive, "Decision record #")

    _discord_recovers(env)
    bot = await restart()  # before any retry fired: the new process delivers what was owed
    await env.settle()
    assert len(messages(opened.where, "Decision record #")) == 1
    assert len(messages(table.archive, "Decision record #")) == 1
    assert await bot.roundtable.pending_posts(table.guild.id, opened.id) == []
    assert fields(messages(opened.where, "Round 2 of 2 closed")[-1])  # the round's closing came first


async def test_a_thread_that_fails_to_open_is_retried_and_the_moderator_is_told_the_truth(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    env.inject_error("POST", f"/channels/{table.deliberations.id}/threads", status=503, times=None)
    started = await table.moderator.slash(table.deliberations, "deliberation start", question="Fridays?")
    texts = [m.content for m in [started.response, *started.followups] if m is not None]
    assert any("is stored and open" in t and "it will appear shortly" in t for t in texts), texts
    assert APOLOGY not in texts
    assert (await bot.roundtable.location(table.guild.id, 1))[1] is None  # no thread yet

    _discord_recovers(env)
    await env.advance_time(60)
    d = await bot.roundtable.get(table.guild.id, 1)
    _, thread_id = await bot.roundtable.location(table.guild.id, d.id)
    assert thread_id is not None
    agenda = await bot.roundtable.post(table.guild.id, d.id, "agenda")
    assert agenda is not None
    assert agenda[0] == thread_id


async def test_a_post_discord_refuses_for_good_is_given_up_and_the_rest_goes_on(
    env: simcord.Env, table: Table, bot: RoundtableBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    opened = await _answered_consent(table)
    env.inject_error("POST", f"/channels/{table.archive.id}/messages", status=403, code=50013, times=None)
    await advance(table.moderator, opened.where, force=True)
    assert len(messages(opened.where, "Decision record #")) == 1
    assert not messages(table.archive, "Decision record #")
    assert "post record-archive refused by Discord" in caplog.text
    assert await bot.roundtable.pending_posts(table.guild.id, opened.id) == []


async def test_the_sealed_records_post_carries_an_anchor_that_verifies_the_database(
    env: simcord.Env, table: Table, bot: RoundtableBot, tmp_path: Path
) -> None:
    opened = await _answered_consent(table)
    await advance(table.moderator, opened.where, force=True)
    (posted,) = messages(opened.where, "Decision record #")
    assert "roundtable-anchor" in posted.content
    anchors = tmp_path / "anchors.txt"
    anchors.write_text(posted.content)
    await bot.close_roundtable()  # the database file is closed, as an operator would check it
    assert cli_main(["verify", "--db", str(bot.settings.database.path), "--anchors", str(anchors)]) == 0


async def test_a_position_whose_answer_discord_refuses_is_still_stored_and_posted(
    env: simcord.Env, table: Table, bot: RoundtableBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord fails the answer itself (a 500 on the interaction's callback): the position was
    stored first, and what it owes is posted all the same; nothing is lost for want of an answer."""
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    env.inject_error("POST", "/interactions/*/callback", status=500, times=None)
    before = len(env.http_requests)

    await table.ada.slash(opened.where, "position", stance="Support", reasoning="Fridays suit us.")
    env.backend.faults.clear()

    # No apology saying nothing changed (it did): the one answer tried is the confirmation.
    answers = [r for r in env.http_requests[before:] if r.method == "POST" and r.path.endswith("/callback")]
    assert len(answers) == 1
    assert "recorded as #1" in answers[0].json["data"]["content"]
    assert "action stored, its answer not delivered" in caplog.text

    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert [c.text for c in d.positions()] == ["Fridays suit us."]
    (post,) = messages(opened.where, "Position #1")
    assert post.embeds[0].description == "Fridays suit us."
    assert await bot.roundtable.pending_posts(table.guild.id, opened.id) == []
