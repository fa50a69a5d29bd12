"""Issue 11, item 4 in Discord: an objection is marked addressed only with a reason (a form asks
why), its author is told (a direct message; in a named deliberation whose member has closed
their direct messages, a reply mentioning only them; in an anonymous one never in public) and
can reopen it; a forged click changes nothing. And the small defects members meet: no vote on
one's own position, a vote's confirmation only to the voter."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import simcord
from deliberation_helpers import (
    Opened,
    advance,
    assert_no_mentions_possible,
    configure,
    deliberation,
    event_count,
    fields,
    last,
    messages,
    open_deliberation,
    record_of,
    state_position,
)
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine import ObjectionStatus
from bot.exts._shared.errors import APOLOGY

REASON = "The library room is free on Fridays."


def _now(where: simcord.ChannelHandle, message_id: int) -> discord.Message:
    return next(m for m in where.history() if m.id == message_id)


def _labels(message: discord.Message) -> list[str]:
    return [b.label for row in message.components for b in row.children]  # type: ignore[attr-defined]


async def _objection(env: simcord.Env, table: Table, **options: Any) -> tuple[Opened, discord.Message, int]:
    """A deliberation in its dissent round with Linus's objection posted."""
    await configure(table)
    opened = await open_deliberation(table, template="consent", **options)
    await state_position(table.ada, opened, "Support", "Fridays suit more people.")
    await env.advance_time(11 * 60)
    await advance(table.moderator, opened.where)
    await table.linus.slash(opened.where, "object", what="No room", why="The hall is booked on Fridays.")
    post = last(opened.where, "Objection #")
    return opened, post, int((post.embeds[0].title or "").removeprefix("Objection #"))


def _public_bodies(env: simcord.Env, since: int, private: set[int]) -> list[dict[str, Any]]:
    """What the bot sent anyone but these direct-message channels, not ephemeral, after `since`."""
    bodies = []
    for request in env.http_requests[since:]:
        if request.method not in ("POST", "PATCH") or not isinstance(request.json, dict):
            continue
        body = request.json.get("data") or {} if request.path.endswith("/callback") else request.json
        if any(f"/channels/{c}/" in request.path for c in private) or (body.get("flags", 0) & 64):
            continue
        if "content" in body or "embeds" in body:
            bodies.append(body)
    return bodies


async def test_marking_addressed_asks_why_tells_the_author_who_can_reopen_it(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened, post, number = await _objection(env, table)
    before = await event_count(bot, table, opened.id)

    asked = await table.moderator.click(post, label="Mark addressed")
    assert asked.modal is not None
    assert asked.modal["title"] == f"Mark objection #{number} addressed"
    assert await event_count(bot, table, opened.id) == before  # a form, nothing stored yet

    # A reason that shows nothing is refused; nothing changes, the author hears nothing.
    refused = await table.moderator.submit_modal(asked, {"move_reason": "   "})
    assert refused.ephemeral
    assert refused.response.content.startswith("Say why the objection is addressed")  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == before
    assert not table.linus.user.dm_channel.history()

    asked = await table.moderator.click(post, label="Mark addressed")
    done = await table.moderator.submit_modal(asked, {"move_reason": REASON})
    assert done.ephemeral
    assert done.response.content == (  # type: ignore[union-attr]
        f"Objection #{number} is now addressed. Its author is being told, with your reason; they may reopen it. "
        "The record quotes your reason."
    )
    post = _now(opened.where, post.id)
    assert fields(post)["Status"] == "addressed"
    assert fields(post)["Marked addressed by Moderator"] == REASON
    assert _labels(post) == ["Withdraw", "Reopen", "Respond"]

    # The author is told, privately, who and why, and where to reopen it.
    (note,) = table.linus.user.dm_channel.history()
    embed = note.embeds[0]
    assert embed.title == f"Your objection #{number} was marked addressed"
    told = {f.name: f.value for f in embed.fields}
    assert told["Your objection"] == "No room"
    assert told["Why, says Moderator"] == REASON
    assert f"/channels/{table.guild.id}/{opened.where.id}/{post.id}" in told["If it is not addressed for you"]
    assert not table.ada.user.dm_channel.history()
    assert not table.grace.user.dm_channel.history()

    # Only the author reopens it, refused up front for anyone else; saying why is theirs to choose.
    refused = await table.grace.click(post, label="Reopen")
    assert refused.modal is None
    assert refused.response.content == "Only the member who raised an objection can reopen it."  # type: ignore[union-attr]
    asked = await table.linus.click(post, label="Reopen")
    assert asked.modal is not None
    await table.linus.submit_modal(asked, {"move_reason": "The library closes at six."})
    post = _now(opened.where, post.id)
    assert fields(post)["Status"] == "open"
    assert fields(post)["Reopened by Linus"] == "The library closes at six."

    d = await deliberation(bot, table, opened.id)
    assert [(c.status, c.reason) for c in d.objections[number].history] == [
        (ObjectionStatus.OPEN, ""),
        (ObjectionStatus.ADDRESSED, REASON),
        (ObjectionStatus.OPEN, "The library closes at six."),
    ]

    # The sealed record has every step, with who and why, in JSON and Markdown.
    for _ in range(3):
        await env.advance_time(61 * 60)
    record, markdown = await record_of(last(table.archive, "Decision record #"))
    (objection,) = record["objections"]
    assert [(s["status"], s["by"], s.get("reason")) for s in objection["history"]] == [
        ("raised", "Linus", None),
        ("addressed", "Moderator", REASON),
        ("reopened", "Linus", "The library closes at six."),
        ("standing", "the deadline", None),
    ]
    assert f"Why:\n\n> {REASON}\n" in markdown
    assert await bot.roundtable.store.verify() == []  # the stored chain with its reasons verifies


async def test_in_an_anonymous_deliberation_the_author_is_told_privately_and_no_name_is_public(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened, post, _ = await _objection(env, table, anonymous=True)
    since = len(env.http_requests)

    # A member with the guild's moderator rights (Manage Server) who takes no part marks it.
    asked = await table.admin.click(post, label="Mark addressed")
    await table.admin.submit_modal(asked, {"move_reason": REASON})

    (note,) = table.linus.user.dm_channel.history()
    assert {f.name: f.value for f in note.embeds[0].fields}["Why, says Moderator"] == REASON
    post = _now(opened.where, post.id)
    assert fields(post)["Marked addressed by Moderator"] == REASON
    assert post.embeds[0].author.name == "Participant 2"

    public = _public_bodies(env, since, {table.linus.user.dm_channel.id})
    assert public  # the objection's post was refreshed in the thread
    text = json.dumps(public)
    for name in ("Linus", "Admin", str(table.linus.id), str(table.admin.id)):
        assert name not in text
    assert all(not b.get("allowed_mentions", {}).get("users") for b in public)


async def test_closed_direct_messages_in_a_named_deliberation_get_a_reply_mentioning_only_the_author(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened, post, number = await _objection(env, table)
    dm = table.linus.user.dm_channel
    env.inject_error("POST", f"/channels/{dm.id}/messages", status=403, code=50007, message="Cannot send messages")
    since = len(env.http_requests)

    hostile = f"{REASON} @everyone <@&{table.moderators.id}> <@{table.ada.id}>"
    asked = await table.moderator.click(post, label="Mark addressed")
    await table.moderator.submit_modal(asked, {"move_reason": hostile})

    assert not dm.history()
    reply = messages(opened.where, f"Your objection #{number} was marked addressed")[-1]
    assert {f.name: f.value for f in reply.embeds[0].fields}["Why, says Moderator"] == hostile
    assert reply.content == f"<@{table.linus.id}>"
    assert reply.reference is not None
    assert reply.reference.message_id == post.id
    (body,) = [b for b in _public_bodies(env, since, set()) if b.get("content") == f"<@{table.linus.id}>"]
    allowed = body["allowed_mentions"]
    assert [int(u) for u in allowed["users"]] == [table.linus.id]
    assert allowed.get("parse", []) == []
    assert not allowed.get("roles")
    assert not allowed.get("replied_user")
    # Whatever the reason says, the one mention the bot ever allows is the author's own.
    assert_no_mentions_possible(env, reminded={table.linus.id})


async def test_closed_direct_messages_in_an_anonymous_deliberation_mention_no_one(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened, post, _ = await _objection(env, table, anonymous=True)
    dm = table.linus.user.dm_channel
    env.inject_error("POST", f"/channels/{dm.id}/messages", status=403, code=50007, message="Cannot send messages")
    public_before = len(messages(opened.where))
    since = len(env.http_requests)

    asked = await table.admin.click(post, label="Mark addressed")
    await table.admin.submit_modal(asked, {"move_reason": REASON})

    assert not dm.history()
    assert len(messages(opened.where)) == public_before  # nothing new in public: the post is edited
    assert fields(_now(opened.where, post.id))["Marked addressed by Moderator"] == REASON
    public = _public_bodies(env, since, {dm.id})
    assert all(not b.get("allowed_mentions", {}).get("users") for b in public)
    assert str(table.linus.id) not in json.dumps(public)


async def test_a_forged_or_unauthorised_addressed_click_is_refused_and_changes_nothing(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened, post, number = await _objection(env, table)
    before = await event_count(bot, table, opened.id)

    # A member who does not moderate: refused before any form opens.
    for member in (table.ada, table.linus, table.grace):
        refused = await member.click(post, label="Mark addressed")
        assert refused.modal is None
        assert refused.ephemeral
        assert refused.response.content == "Only the moderator can mark an objection addressed."  # type: ignore[union-attr]

    # The same custom id on a message the bot never posted, for an objection that does not exist
    # or for a position: refused plainly, never the apology.
    assert env.bot.user is not None
    for custom_id in (f"rt:obj:{opened.id}:{number}:a", f"rt:obj:{opened.id}:999:a", f"rt:obj:{opened.id}:1:a"):
        button = {"type": 2, "style": 2, "label": "Forged", "custom_id": custom_id}
        stored = env.backend.create_message(
            opened.where.id, env.bot.user.id, "", components=[{"type": 1, "components": [button]}]
        )
        forged = next(m for m in opened.where.history() if m.id == stored.id)
        result = await table.ada.click(forged, label="Forged")
        assert result.modal is None
        assert result.response is not None
        assert result.response.content not in ("", APOLOGY)

    # The moderator opening the form and walking away stores nothing either.
    asked = await table.moderator.click(post, label="Mark addressed")
    assert asked.modal is not None
    assert await event_count(bot, table, opened.id) == before
    assert fields(_now(opened.where, post.id))["Status"] == "open"
    assert not table.linus.user.dm_channel.history()


async def test_the_sealed_records_embed_shows_every_blocks_reason(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Support", "Yes.")
    await advance(table.moderator, opened.where, force=True)
    await table.grace.slash(opened.where, "consent", choice="block", reason="It excludes night-shift members.")
    block = last(opened.where, "Block #")
    asked = await table.moderator.click(block, label="Mark addressed")
    await table.moderator.submit_modal(asked, {"move_reason": "A second session on Saturdays."})
    await table.linus.slash(opened.where, "consent", choice="block", reason="No budget for two rooms.")
    await table.ada.slash(opened.where, "consent", choice="endorse")
    await env.advance_time(61 * 60)

    sealed = last(table.archive, "Decision record #")
    shown = fields(sealed)
    # The block still standing is in the dissent; the addressed one with its reason, who and why.
    assert "No budget for two rooms." in shown["Standing dissent (verbatim)"]
    addressed = shown["Block objections addressed or lifted"]
    assert "It excludes night-shift members." in addressed
    assert "Marked addressed by Moderator:" in addressed
    assert "A second session on Saturdays." in addressed
    # Grace did not change her answer: her block still counts, and the record says so rather than
    # calling the block both standing and no longer standing.
    assert "Their consent answer is still Block, and it counts in the outcome." in addressed
    assert "but its member's answer is still Block" in (sealed.embeds[0].description or "") + str(shown)


async def test_a_member_cannot_vote_on_their_own_position_and_votes_are_confirmed_only_to_the_voter(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened, _, _ = await _objection(env, table)
    position = last(opened.where, "Position #")
    before = await event_count(bot, table, opened.id)
    public = len(messages(opened.where))

    refused = await table.ada.click(position, label="Agree")
    assert refused.ephemeral
    assert refused.response.content == (  # type: ignore[union-attr]
        "#1 is your own position: it already says where you stand, so you do not vote on it. "
        "Votes are on what others wrote."
    )
    assert await event_count(bot, table, opened.id) == before

    for member in (table.grace, table.linus):
        voted = await member.click(position, label="Agree")
        assert voted.ephemeral
        assert voted.response.content == "Your vote on #1 is recorded: agree."  # type: ignore[union-attr]
    # No message per vote: the position's tally is edited in place, nothing new is posted.
    assert len(messages(opened.where)) == public
    assert fields(_now(opened.where, position.id))["Votes"] == "Agree 2 · Disagree 0 · Pass 0"
    assert not table.grace.user.dm_channel.history()


async def test_the_authors_note_survives_a_discord_outage_and_a_restart(
    env: simcord.Env, table: Table, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    opened, post, number = await _objection(env, table)
    dm = table.linus.user.dm_channel
    env.inject_error("POST", f"/channels/{dm.id}/messages", status=503, times=None)

    asked = await table.moderator.click(post, label="Mark addressed")
    done = await table.moderator.submit_modal(asked, {"move_reason": REASON})
    # Stored before the answer, and the moderator is told the truth: the note is still owed.
    assert done.response.content.startswith(  # type: ignore[union-attr]
        f"Objection #{number} is now addressed. Its author is being told, with your reason"
    )
    assert not dm.history()

    bot = await restart()
    env.backend.faults.clear()
    await env.advance_time(60)
    (note,) = dm.history()
    assert {f.name: f.value for f in note.embeds[0].fields}["Why, says Moderator"] == REASON
    assert await bot.roundtable.pending_posts(table.guild.id, opened.id) == []
