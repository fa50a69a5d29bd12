"""Positions, statements, objections and consent as members give them: edits, lifecycle, blocks, bad input."""

from __future__ import annotations

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
    state_position,
)
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine import ObjectionStatus


def _now(where: simcord.ChannelHandle, message_id: int):  # type: ignore[no-untyped-def]
    return next(m for m in where.history() if m.id == message_id)


def _labels(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.label for row in message.components for b in row.children]


async def _to_dissent(env: simcord.Env, table: Table) -> Opened:
    await configure(table)
    opened = await open_deliberation(table, template="consent")
    await state_position(table.ada, opened, "Support", "Fridays suit more people.")
    await env.advance_time(11 * 60)
    await advance(table.moderator, opened.where)
    return opened


async def test_stating_a_position_again_edits_it_and_keeps_history(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    await state_position(table.ada, opened, "Support", "Fridays suit more people.")
    post = last(opened.where, "Position #")

    shown = await table.ada.click(opened.agenda, label="State position")
    assert shown.modal is not None
    assert shown.modal["title"] == "Edit your position"
    inputs = {c["component"]["custom_id"]: c["component"].get("value") for c in shown.modal["components"]}
    assert inputs == {"stance": "Support", "reasoning": "Fridays suit more people."}
    done = await table.ada.submit_modal(shown, {"stance": "Support with changes", "reasoning": "Fridays, but early."})
    assert "updated" in done.response.content  # type: ignore[union-attr]

    assert len(messages(opened.where, "Position #")) == 1  # the same post, edited in place
    edited = _now(opened.where, post.id)
    assert edited.embeds[0].title == "Position #1: Support with changes"
    assert edited.embeds[0].description == "Fridays, but early."
    assert "edited 1 time" in (edited.embeds[0].footer.text or "")
    d = await deliberation(bot, table, opened.id)
    (position,) = d.positions()
    assert [(r.stance, r.text) for r in position.history] == [("Support", "Fridays suit more people.")]

    # Grace's form is her own: not pre-filled with Ada's, and it does not touch Ada's position.
    shown = await table.grace.click(opened.agenda, label="State position")
    assert shown.modal["title"] == "Your position"  # type: ignore[index]
    assert all(not c["component"].get("value") for c in shown.modal["components"])  # type: ignore[index]
    await table.grace.submit_modal(shown, {"stance": "Oppose", "reasoning": "Family time."})
    assert d.positions()[0].text == "Fridays, but early."
    assert [p.stance for p in d.positions()] == ["Support with changes", "Oppose"]


async def test_an_objection_through_its_lifecycle_by_buttons(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened = await _to_dissent(env, table)
    shown = await table.linus.click(opened.agenda, label="Raise objection")
    await table.linus.submit_modal(shown, {"what": "The venue is closed.", "why": "Nowhere to meet."})
    post = last(opened.where, "Objection #")
    objection_id = int((post.embeds[0].title or "").removeprefix("Objection #"))
    assert _labels(post) == ["Withdraw", "Mark addressed", "Respond"]
    before = await event_count(bot, table, opened.id)

    refused = await table.grace.click(post, label="Withdraw")
    assert refused.ephemeral
    assert refused.response.content == "Only the member who raised an objection can withdraw it."  # type: ignore[union-attr]
    refused = await table.ada.click(post, label="Mark addressed")
    assert refused.response.content == "Only the moderator can mark an objection addressed."  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == before

    asked = await table.moderator.click(post, label="Mark addressed")  # asks why: its author is told
    done = await table.moderator.submit_modal(asked, {"move_reason": "The library is free on Fridays."})
    assert done.response.content.startswith(f"Objection #{objection_id} is now addressed.")  # type: ignore[union-attr]
    post = _now(opened.where, post.id)
    assert fields(post)["Status"] == "addressed"
    assert _labels(post) == ["Withdraw", "Reopen", "Respond"]

    asked = await table.linus.click(post, label="Reopen")
    await table.linus.submit_modal(asked, {"move_reason": ""})  # saying why is optional
    post = _now(opened.where, post.id)
    assert fields(post)["Status"] == "open"
    await table.linus.click(post, label="Withdraw")
    post = _now(opened.where, post.id)
    assert fields(post)["Status"] == "withdrawn"
    assert _labels(post) == []
    d = await deliberation(bot, table, opened.id)
    assert [c.status for c in d.objections[objection_id].history] == [
        ObjectionStatus.OPEN,
        ObjectionStatus.ADDRESSED,
        ObjectionStatus.OPEN,
        ObjectionStatus.WITHDRAWN,
    ]


async def test_votes_refresh_the_tally_and_a_double_click_changes_nothing(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened = await _to_dissent(env, table)
    post = last(opened.where, "Position #")
    await table.grace.click(post, label="Agree")
    before = await event_count(bot, table, opened.id)
    again = await table.grace.click(post, label="Agree")
    assert again.ephemeral
    assert "already agree" in again.response.content  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == before
    await table.grace.click(post, label="Pass")
    assert fields(_now(opened.where, post.id))["Votes"] == "Agree 0 · Disagree 0 · Pass 1"


async def test_a_block_needs_a_reason_and_then_stands_as_an_objection(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Support", "Yes.")
    await advance(table.moderator, opened.where, force=True)
    consent_round = last(opened.where, "Round 2 of 2 open: consent")
    before = await event_count(bot, table, opened.id)

    shown = await table.grace.click(consent_round, label="Block")
    assert shown.modal["title"] == "Block: say why"  # type: ignore[index]
    refused = await table.grace.submit_modal(shown, {"reason": "   "})
    assert refused.ephemeral
    assert refused.response.content == "A block needs a reason: say what would have to change."  # type: ignore[union-attr]
    refused = await table.grace.slash(opened.where, "consent", choice="block", reason=" \n ")
    assert refused.response.content == "A block needs a reason: say what would have to change."  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == before
    assert messages(opened.where, "Block #") == []

    # /consent choice:block without a reason asks for it in the same form.
    shown = await table.grace.slash(opened.where, "consent", choice="block")
    assert shown.modal is not None
    await table.grace.submit_modal(shown, {"reason": "It excludes night-shift members."})
    block = last(opened.where, "Block #")
    assert fields(block)["Why"] == "It excludes night-shift members."
    assert _labels(block) == ["Mark addressed"]  # a block is lifted by changing the answer, not withdrawn
    d = await deliberation(bot, table, opened.id)
    assert d.consent[f"human:{table.grace.id}"].reason == "It excludes night-shift members."


async def test_bad_input_is_refused_clearly_and_nothing_is_stored(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="consent")
    where = opened.where
    before = await event_count(bot, table, opened.id)

    async def refused(result: simcord.InteractionResult, starts: str) -> None:
        assert result.ephemeral, result
        assert result.response is not None
        assert result.response.content.startswith(starts), result.response.content

    await refused(await table.ada.slash(where, "position", stance="   ", reasoning="Fine."), "The stance is empty")
    await refused(
        await table.ada.slash(where, "position", stance="x" * 201, reasoning="Fine."),
        "The stance is 201 characters; the limit is 200.",
    )
    await refused(
        await table.ada.slash(where, "position", stance="Yes", reasoning="y" * 4001),
        "The reasoning is 4,001 characters; the limit is 4,000.",
    )
    shown = await table.ada.click(opened.agenda, label="State position")
    blank = await table.ada.submit_modal(shown, {"stance": "Yes", "reasoning": " \n\t "})
    await refused(blank, "The reasoning is empty")
    # Inputs of the wrong round are refused before a form opens.
    await refused(
        await table.ada.click(opened.agenda, label="Raise objection"),
        "The positions round is under way; objections belong to the dissent or synthesis round.",
    )
    await refused(await table.ada.slash(where, "statement", text="Hi"), "The positions round is under way")
    await refused(await table.ada.slash(where, "deliberation extend", minutes=0), "Only the moderator")
    await refused(await table.moderator.slash(where, "deliberation extend", minutes=0), "Extend by 1 minute")
    await refused(await table.moderator.slash(where, "deliberation cancel", reason="   "), "The reason is empty")
    await refused(
        await table.ada.slash(where, "position", stance="Yes", reasoning="Ok", deliberation=999),
        "There is no deliberation #999",
    )
    assert await event_count(bot, table, opened.id) == before

    # Opening: nothing stored, no thread made.
    threads = len(table.deliberations.threads)
    for options, starts in (
        ({"question": "   "}, "The question is empty"),
        ({"question": "q" * 1001}, "The question is 1,001 characters; the limit is 1,000."),
        ({"question": "Ok?", "round_minutes": 0}, "A round lasts between 1 minute and 30 days."),
        ({"question": "Ok?", "template": "nope"}, "There is no process template called 'nope'"),
    ):
        result = await table.moderator.slash(table.deliberations, "deliberation start", **options)
        assert result.followups or result.response
        answer = result.followups[-1] if result.followups else result.response
        assert answer.ephemeral  # type: ignore[union-attr]
        assert answer.content.startswith(starts), answer.content  # type: ignore[union-attr]
    assert len(table.deliberations.threads) == threads
    assert len(await bot.roundtable.store.deliberations(table.guild.id)) == 1

    # Move on to the dissent round for objections and statements.
    await env.advance_time(11 * 60)
    await advance(table.moderator, where)
    before = await event_count(bot, table, opened.id)
    await refused(await table.ada.slash(where, "object", what="  ", why="Because."), "The objection is empty")
    await refused(await table.ada.slash(where, "object", what="This", why="w" * 4001), "The reason is 4,001")
    shown = await table.ada.click(opened.agenda, label="Raise objection")
    await refused(await table.ada.submit_modal(shown, {"what": "This", "why": "   "}), "The reason is empty")
    await refused(await table.ada.slash(where, "statement", text="s" * 1001), "The statement is 1,001 characters")
    shown = await table.ada.click(opened.agenda, label="Add statement")
    await refused(await table.ada.submit_modal(shown, {"statement": "  "}), "The statement is empty")
    await refused(
        await table.ada.slash(where, "object", what="This", why="That", target=999), "There is no contribution #999"
    )
    assert await event_count(bot, table, opened.id) == before


async def test_markdown_and_mentions_in_member_text_are_shown_never_delivered(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    injected = f"@everyone @here <@{table.grace.id}> <@&{table.moderators.id}> **bold** `code`"
    opened = await open_deliberation(table, question=f"Ping? {injected}", template="consent")
    await table.ada.slash(opened.where, "position", stance="@everyone", reasoning=injected)
    post = last(opened.where, "Position #")
    assert post.embeds[0].description == injected  # verbatim, not escaped away
    assert post.embeds[0].title == "Position #1: @everyone"
    await env.advance_time(11 * 60)
    await advance(table.moderator, opened.where)
    await table.ada.slash(opened.where, "object", what=injected, why=injected)
    await table.moderator.slash(opened.where, "deliberation cancel", reason=injected)
    assert fields(last(opened.where, "Deliberation #1 cancelled"))["Reason"] == injected
    assert assert_no_mentions_possible(env) > 8


async def test_members_respond_to_positions_and_objections_and_responses_reply_to_them(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    opened = await _to_dissent(env, table)
    position = last(opened.where, "Position #")
    assert "Respond" in _labels(position)

    shown = await table.grace.click(position, label="Respond")
    assert shown.modal is not None
    done = await table.grace.submit_modal(shown, {"response": "Fridays exclude parents."})
    assert done.response.content == "Your response is recorded as #2; it is being posted in the thread."  # type: ignore[union-attr]
    reply = last(opened.where, "Response #2")
    assert reply.reference is not None
    assert reply.reference.message_id == position.id
    assert reply.embeds[0].description == "Fridays exclude parents."

    await table.linus.slash(opened.where, "object", what="The venue", why="Closed on Fridays")
    objection = last(opened.where, "Objection #")
    answered = await table.ada.slash(opened.where, "respond", to=3, text="It opens at six.")
    assert answered.response.content == "Your response is recorded as #4; it is being posted in the thread."  # type: ignore[union-attr]
    assert last(opened.where, "Response #4").reference.message_id == objection.id  # type: ignore[union-attr]
    d = await deliberation(bot, table, opened.id)
    assert d.spoke(f"human:{table.grace.id}")  # a response is taking part

    # Bad input changes nothing: empty, unknown, an observer.
    before = await event_count(bot, table, opened.id)
    for who, to, text, expected in (
        (table.ada, 2, "   ", "empty"),
        (table.ada, 999, "Hello", "no position, statement or objection #999"),
    ):
        refused = await who.slash(opened.where, "respond", to=to, text=text)
        assert refused.ephemeral
        assert expected in refused.response.content  # type: ignore[union-attr]
    watcher = table.guild.add_member(env.create_user("Watcher"))
    await watcher.slash(opened.where, "deliberation join", **{"as": "observer"})
    before = await event_count(bot, table, opened.id)
    refused = await watcher.click(position, label="Respond")
    assert "observing" in refused.response.content  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == before
