"""A burst: many members press buttons at once, without the bot finishing one before the next arrives.

SimCord normally settles after every action (the bot's work for it finishes first); here settling
is held off while the clicks arrive, so the bot's handlers run concurrently, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import simcord
from deliberation_helpers import advance, configure, fields, last, open_deliberation, state_position
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.model import Vote


@asynccontextmanager
async def burst(env: simcord.Env) -> AsyncIterator[None]:
    """Actions inside return as soon as Discord has the interaction; the bot's work settles at the end."""
    settle = env._settle_internal

    async def later(**_: Any) -> None:
        return None

    env._settle_internal = later  # type: ignore[method-assign]
    try:
        yield
    finally:
        env._settle_internal = settle  # type: ignore[method-assign]
    await env.settle()


async def test_a_burst_of_votes_is_all_stored_and_the_post_shows_every_vote(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="consent")
    await state_position(table.ada, opened, "Support", "Fridays suit more people.")
    await env.advance_time(11 * 60)
    await advance(table.moderator, opened.where)
    post = last(opened.where, "Position #")
    members = [table.guild.add_member(env.create_user(f"Voter {i}")) for i in range(12)]
    edits_before = _edits(env, post.id)

    results = []
    async with burst(env):
        for member in members:
            results.append(await member.click(post, label="Agree"))

    assert all(r.ephemeral for r in results)
    assert all("agree" in r.response.content for r in results)  # type: ignore[union-attr]
    d = await bot.roundtable.get(table.guild.id, opened.id)
    (position,) = d.positions()
    assert d.tally(position.id)[Vote.AGREE] == 12
    assert (await bot.roundtable.store.verify()) == []
    # The post shows all twelve, and got there in fewer edits than votes (edits are coalesced).
    now = next(m for m in opened.where.history() if m.id == post.id)
    assert fields(now)["Votes"] == "Agree 12 · Disagree 0 · Pass 0"
    edits = _edits(env, post.id) - edits_before
    assert edits >= 1  # the post was refreshed at all
    # Coalesced: refreshes that pile up while one is under way are merged (9 edits here for 12
    # votes in the simulator); one edit per vote would mean every refresh went out on its own.
    assert edits < len(members)


async def test_a_burst_of_positions_in_one_deliberation_is_all_stored_and_posted_once(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    members = [table.guild.add_member(env.create_user(f"Member {i}")) for i in range(10)]

    results = []
    async with burst(env):
        for i, member in enumerate(members):
            results.append(await member.slash(opened.where, "position", stance="Support", reasoning=f"Reason {i}."))

    replies = [r.response.content for r in results]  # type: ignore[union-attr]
    # Each member is answered once their position is stored, with its own number, before it is posted.
    numbers = sorted(int(r.split("recorded as #")[1].split(";")[0]) for r in replies)
    assert numbers == list(range(1, 11)), replies
    assert all("being posted in the thread" in r for r in replies), replies
    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert sorted(c.text for c in d.positions()) == sorted(f"Reason {i}." for i in range(10))
    posts = [m for m in opened.where.history() if m.embeds and (m.embeds[0].title or "").startswith("Position #")]
    assert sorted(m.embeds[0].description or "" for m in posts) == sorted(f"Reason {i}." for i in range(10))
    assert await bot.roundtable.pending_posts(table.guild.id, opened.id) == []


def _edits(env: simcord.Env, message_id: int) -> int:
    return sum(1 for r in env.http_requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}"))


async def test_a_burst_of_consent_answers_is_counted_in_full_on_the_round_message(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    """The round's count is refreshed coalesced (it was one edit per answer): after a burst of
    endorsements it shows every answer, in fewer edits than answers."""
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    members = [table.guild.add_member(env.create_user(f"Member {i}")) for i in range(10)]
    for i, member in enumerate(members):
        await state_position(member, opened, "Support", f"Reason {i}.")
    await advance(table.moderator, opened.where, force=True)
    consent_round = last(opened.where, "Round 2 of 2 open: consent")
    edits_before = _edits(env, consent_round.id)

    async with burst(env):
        results = [await member.click(consent_round, label="Endorse") for member in members]

    assert all("Endorse" in r.response.content for r in results)  # type: ignore[union-attr]
    d = await bot.roundtable.get(table.guild.id, opened.id)
    assert len(d.consent) == 10
    now = next(m for m in opened.where.history() if m.id == consent_round.id)
    assert fields(now)["Answered"] == "10 of 10 members"
    edits = _edits(env, consent_round.id) - edits_before
    assert 1 <= edits < len(members)
