"""Adversary's tests for "answers first": once an action is stored and answered, a failing
refresh of its post never tells the member otherwise, and the post catches up."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest
import simcord
from deliberation_helpers import advance, configure, fields, last, messages, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.model import Vote
from bot.exts._shared.errors import APOLOGY
from bot.exts._shared.posting import REFRESH_ATTEMPTS, REFRESH_RETRY_SECONDS
from bot.exts.deliberation._embeds import agenda_embed


async def test_a_vote_whose_post_cannot_be_edited_is_not_called_unrecorded_and_the_tally_catches_up(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    post = last(opened.where, "Position #")
    # Discord refuses the edit of the tally (and then keeps failing for a while).
    env.inject_error("PATCH", "/channels/*/messages/*", status=403, code=50001, message="Missing Access", times=2)

    voted = await table.grace.click(post, label="Agree")

    assert voted.response is not None
    assert "recorded" in voted.response.content
    # Stored and answered: no apology saying nothing was changed follows.
    assert all(APOLOGY not in (f.content or "") for f in voted.followups), [f.content for f in voted.followups]
    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert d.tally(1)[next(iter(d.tally(1)))] == 1
    assert fields(last(opened.where, "Position #"))["Votes"].startswith("Agree 0")

    await env.advance_time(REFRESH_RETRY_SECONDS)  # the first retry fails too
    assert fields(last(opened.where, "Position #"))["Votes"].startswith("Agree 0")
    await env.advance_time(2 * REFRESH_RETRY_SECONDS)
    assert fields(last(opened.where, "Position #"))["Votes"] == "Agree 1 · Disagree 0 · Pass 0"


async def test_a_refresh_given_up_after_repeated_refusals_does_not_retry_forever(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    post = last(opened.where, "Position #")
    env.inject_error("PATCH", "/channels/*/messages/*", status=403, code=50001, message="Missing Access", times=None)

    voted = await table.grace.click(post, label="Disagree")
    assert voted.response is not None
    assert "recorded" in voted.response.content
    assert not voted.followups

    def edits() -> int:
        return sum(r.method == "PATCH" and r.path.endswith(f"/messages/{post.id}") for r in env.http_requests)

    await env.advance_time(20 * 60)  # well past every retry (10 + 20 + 40 + 80 + 160 s)
    tried = edits()
    assert tried == 1 + REFRESH_ATTEMPTS, tried  # the first edit, then each retry once
    await env.advance_time(20 * 60)
    assert edits() == tried  # given up, not retried forever


async def test_a_consent_count_whose_refresh_discord_fails_is_brought_up_to_date(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    await state_position(table.grace, opened, "support", "Fine by me.")
    await env.advance_time(11 * 60)  # past the positions round's minimum
    await advance(table.moderator, opened.where)
    env.inject_error("PATCH", "/channels/*/messages/*", status=500, times=1)  # Discord fails the count's edit once

    answered = await table.ada.slash(opened.where, "consent", choice="endorse")

    assert answered.response is not None
    assert "recorded" in answered.response.content
    assert fields(last(opened.where, "Round 2"))["Answered"] == "0 of 2 members"
    await env.advance_time(REFRESH_RETRY_SECONDS)
    shown = fields(last(opened.where, "Round 2"))
    assert shown["Answered"] == "1 of 2 members"
    assert shown["Not answered yet"] == "Grace"


async def test_an_agenda_whose_refresh_discord_fails_catches_up_with_the_round(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    await env.advance_time(11 * 60)
    before = opened.where.history()[0].embeds[0].to_dict()
    env.inject_error("PATCH", f"/channels/*/messages/{opened.agenda.id}", status=502, times=1)

    await advance(table.moderator, opened.where)  # the consent round opens; the agenda's edit fails

    assert opened.where.history()[0].embeds[0].to_dict() == before
    await env.advance_time(REFRESH_RETRY_SECONDS)
    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert opened.where.history()[0].embeds[0].to_dict() == agenda_embed(d).to_dict()
    assert opened.where.history()[0].embeds[0].to_dict() != before


async def test_a_vote_whose_answer_is_lost_with_the_connection_is_stored_and_not_apologised_for(
    env: simcord.Env, table: Table, bot: RoundtableBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    post = last(opened.where, "Position #")
    send_message = discord.InteractionResponse.send_message

    async def connection_drops(self: discord.InteractionResponse[Any], *args: Any, **kwargs: Any) -> Any:
        # Discord's servers are out of reach here: the connection drops as the answer is sent.
        monkeypatch.setattr(discord.InteractionResponse, "send_message", send_message)
        raise aiohttp.ServerDisconnectedError()

    monkeypatch.setattr(discord.InteractionResponse, "send_message", connection_drops)
    voted = await table.grace.click(post, label="Agree")

    # Stored before the answer: the apology ("nothing was changed") would be false.
    assert voted.response is None or APOLOGY not in (voted.response.content or "")
    assert all(APOLOGY not in (f.content or "") for f in voted.followups), [f.content for f in voted.followups]
    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert d.tally(1)[Vote.AGREE] == 1
    assert fields(last(opened.where, "Position #"))["Votes"] == "Agree 1 · Disagree 0 · Pass 0"


async def test_a_round_closed_by_hand_whose_answer_discord_drops_is_still_announced(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "support", "Fridays suit most of us.")
    await env.advance_time(11 * 60)
    # Answered too late in a burst: Discord no longer knows the interaction.
    env.inject_error("POST", "/interactions/*/callback", status=404, code=10062, message="Unknown interaction")

    closed = await advance(table.moderator, opened.where)

    # The round is closed (stored): no "nothing was changed" for it.
    assert closed.response is None or APOLOGY not in (closed.response.content or "")
    assert all(APOLOGY not in (f.content or "") for f in closed.followups)
    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert d.current == 1
    # What the change owes is announced, and the new round's deadline is what the bot keeps.
    titles = [m.embeds[0].title or "" for m in messages(opened.where)]
    assert "Round 1 of 2 closed: positions" in titles, titles
    assert "Round 2 of 2 open: consent" in titles, titles
    assert bot.deadlines.deadline_of(opened.id) == d.round.deadline


async def test_a_deliberation_opened_whose_answer_discord_fails_still_closes_its_round_on_time(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    # The answer to /deliberation start is a follow-up (it defers first); Discord fails it.
    env.inject_error("POST", "/webhooks/*", status=500, times=1)
    started = await table.moderator.slash(
        table.deliberations, "deliberation start", question="Fridays?", round_minutes=60
    )

    assert all(APOLOGY not in (f.content or "") for f in started.followups), [f.content for f in started.followups]
    thread = table.deliberations.threads[-1]
    assert bot.deadlines.deadline_of(1) is not None  # the round's deadline is kept
    await env.advance_time(61 * 60)
    titles = [m.embeds[0].title or "" for m in messages(thread)]
    assert any(t.startswith("Round 1 of") and "closed" in t for t in titles), titles
