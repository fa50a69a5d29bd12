"""Whole deliberations in Discord, as a moderator and three members run them."""

from __future__ import annotations

from typing import Any

import simcord
from deliberation_helpers import (
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


async def test_a_consent_deliberation_from_start_to_the_sealed_record(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="consent")
    thread = opened.where
    assert thread.is_thread
    assert thread.name == "Should we move the meetup to Fridays?"
    agenda = fields(opened.agenda)
    assert "Positions" in agenda["Rounds"]
    assert "Consent" in agenda["Rounds"]
    assert agenda["Moderator"] == "Moderator"
    assert "None" in agenda["AI participants at the table"]
    assert [b.label for row in opened.agenda.components for b in row.children] == [  # type: ignore[attr-defined]
        "State position",
        "Raise objection",
        "Add statement",
        "Remind me",
    ]

    # Positions: by button and modal, and by the slash command.
    assert "recorded as #1" in await state_position(table.ada, opened, "Support", "Fridays suit more people.")
    done = await table.grace.slash(thread, "position", stance="Oppose", reasoning="Fridays clash with family time.")
    assert done.ephemeral
    assert "recorded as #3" in await state_position(table.linus, opened, "Undecided", "Depends on the venue.")
    positions = messages(thread, "Position #")
    assert [m.embeds[0].author.name for m in positions] == ["Ada", "Grace", "Linus"]
    ada_position = positions[0]

    # The moderator cannot close the round before its minimum duration without forcing it.
    early = await advance(table.moderator, thread)
    assert early.ephemeral
    assert "minimum duration" in early.response.content  # type: ignore[union-attr]
    await env.advance_time(11 * 60)
    moved = await advance(table.moderator, thread)
    assert "dissent round is open" in moved.response.content  # type: ignore[union-attr]
    closed = fields(last(thread, "Round 1 of 4 closed"))
    assert closed["Took part"] == "Ada, Grace, Linus"
    opened_dissent = last(thread, "Round 2 of 4 open: dissent")
    assert "Not heard from yet" in fields(opened_dissent)

    # Dissent: votes, a statement, an objection.
    vote = await table.grace.click(ada_position, label="Disagree")
    assert vote.ephemeral
    assert "disagree" in vote.response.content  # type: ignore[union-attr]
    await table.linus.click(ada_position, label="Agree")
    refreshed = next(m for m in thread.history() if m.id == ada_position.id)
    assert fields(refreshed)["Votes"] == "Agree 1 · Disagree 1 · Pass 0"
    shown = await table.ada.click(opened.agenda, label="Add statement")
    await table.ada.submit_modal(shown, {"statement": "Evenings are better than weekends."})
    assert last(thread, "Statement #").embeds[0].description == "Evenings are better than weekends."
    shown = await table.linus.click(opened.agenda, label="Raise objection")
    assert shown.modal is not None
    await table.linus.submit_modal(
        shown, {"what": "The venue is closed on Fridays.", "why": "We would have nowhere to meet."}
    )
    objection = last(thread, "Objection #")
    assert fields(objection)["Status"] == "open"

    await env.advance_time(11 * 60)
    await advance(table.moderator, thread)
    await env.advance_time(11 * 60)
    await advance(table.moderator, thread)

    # Consent: the round opening carries the scale.
    consent_round = last(thread, "Round 4 of 4 open: consent")
    labels = [b.label for row in consent_round.components for b in row.children]  # type: ignore[attr-defined]
    assert labels == ["Endorse", "Reservations", "Stand aside", "Block"]
    assert "Proposal" in " ".join(fields(consent_round))
    answered = await table.ada.click(consent_round, label="Endorse")
    assert "Endorse" in answered.response.content  # type: ignore[union-attr]
    await table.grace.slash(thread, "consent", choice="reservations", reason="Only if we try it for a month.")
    shown = await table.linus.click(consent_round, label="Block")
    assert shown.modal is not None
    blocked = await table.linus.submit_modal(shown, {"reason": "Fridays exclude members who work late."})
    assert "quoted in the record" in blocked.response.content  # type: ignore[union-attr]
    assert last(thread, "Block #").embeds[0].author.name == "Linus"

    await env.advance_time(11 * 60)
    sealed = await advance(table.moderator, thread)
    assert "sealed" in sealed.response.content  # type: ignore[union-attr]

    # The record: in the thread and in #archive, as Markdown and JSON.
    in_thread = last(thread, "Decision record #")
    in_archive = last(table.archive, "Decision record #")
    for message in (in_thread, in_archive):
        assert sorted(a.filename for a in message.attachments) == [
            f"decision-record-{opened.id}.json",
            f"decision-record-{opened.id}.md",
        ]
    record, markdown = await record_of(in_archive)
    assert record["outcome"]["kind"] == "no_consensus"
    assert "block" in record["outcome"]["reason"].lower()
    assert record["tally"] == {"endorse": 1, "reservations": 1, "stand_aside": 0, "block": 1}
    standing = {o["why"]: o for o in record["standing_objections"]}
    assert standing["Fridays exclude members who work late."]["from_block"] is True
    assert standing["We would have nowhere to meet."]["what"] == "The venue is closed on Fridays."
    assert "> Fridays exclude members who work late." in markdown
    assert "> We would have nowhere to meet." in markdown
    assert set(record["participation"]["spoke"]) >= {"Ada", "Grace", "Linus"}
    assert fields(in_thread)["Outcome"].startswith("**No consensus")
    d = await deliberation(bot, table, opened.id)
    assert not d.is_open
    objection_id = int((objection.embeds[0].title or "").removeprefix("Objection #"))
    assert d.objections[objection_id].status is ObjectionStatus.STANDING
    # The agenda shows the sealed state and no longer offers buttons.
    agenda_now = next(m for m in thread.history() if m.id == opened.agenda.id)
    assert agenda_now.components == []
    assert "Closed" in (agenda_now.embeds[0].footer.text or "")
    assert_no_mentions_possible(env)


async def test_quick_reaches_consensus_when_everyone_endorses(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick", question="Adopt the code of conduct?")
    assert [b.label for row in opened.agenda.components for b in row.children] == [  # type: ignore[attr-defined]
        "State position",
        "Remind me",
    ]
    for member in (table.ada, table.grace, table.linus):
        await state_position(member, opened, "Support", "It is clear and fair.")
    await advance(table.moderator, opened.where, force=True)
    consent_round = last(opened.where, "Round 2 of 2 open: consent")
    for member in (table.ada, table.grace, table.linus):
        await member.click(consent_round, label="Endorse")
    await advance(table.moderator, opened.where, force=True)
    record, _ = await record_of(last(table.archive, "Decision record #"))
    assert record["outcome"]["kind"] == "consensus"
    assert record["tally"]["endorse"] == 3
    assert [r["forced"] for r in record["participation"]["rounds"]] == [True, True]


async def test_advice_gathers_views_and_decides_nothing(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="advice", question="How should we spend the grant?")
    await state_position(table.ada, opened, "Docs", "Documentation is our weakest part.")
    await state_position(table.grace, opened, "Tests", "Our test suite is slow.")
    await env.advance_time(60 * 60 + 1)  # the deadline closes the positions round
    assert last(opened.where, "Round 1 of 2 closed")
    assert "by its deadline" in (last(opened.where, "Round 1 of 2 closed").embeds[0].description or "")
    shown = await table.linus.click(opened.agenda, label="Raise objection")
    await table.linus.submit_modal(shown, {"what": "Neither", "why": "Hosting costs come first."})
    await env.advance_time(60 * 60 + 1)
    record, markdown = await record_of(last(opened.where, "Decision record #"))
    assert record["outcome"]["kind"] == "advice"
    assert "Linus" in record["participation"]["spoke"]
    assert "Hosting costs come first." in markdown
    assert not (await deliberation(bot, table, opened.id)).is_open


async def test_a_double_click_never_seals_a_consent_round_no_one_answered(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Support", "Yes.")
    await state_position(table.grace, opened, "Oppose", "No.")
    await advance(table.moderator, opened.where, force=True)  # to the consent round
    events = await event_count(bot, table, opened.id)

    # Two quick clicks: each is asked to confirm, neither closes the round.
    first = await table.moderator.slash(opened.where, "deliberation advance", force=True)
    second = await table.moderator.slash(opened.where, "deliberation advance", force=True)
    for asked in (first, second):
        assert asked.ephemeral
        assert "0 of 2 member(s) answered (not yet: Ada, Grace)" in asked.response.content  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == events
    assert not messages(opened.where, "Decision record #")

    # Confirming closes that round; a second confirmation of the same round closes nothing more.
    confirmed = await table.moderator.click(first.response, label="Close it anyway")  # type: ignore[arg-type]
    assert confirmed.response.content == "The last round is closed and the decision record is sealed."  # type: ignore[union-attr]
    late = await table.moderator.click(second.response, label="Close it anyway")  # type: ignore[arg-type]
    assert late.ephemeral
    assert "closed" in late.response.content  # type: ignore[union-attr]
    assert len(messages(opened.where, "Decision record #")) == 1


async def test_every_round_says_what_happens_next_and_carries_its_buttons_and_consent_counts_live(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table)  # consent: positions, dissent, synthesis, consent
    await state_position(table.ada, opened, "Support", "Yes.")
    await state_position(table.grace, opened, "Oppose", "No.")

    def labels(message: Any) -> list[str]:
        return [b.label for row in message.components for b in row.children]

    await advance(table.moderator, opened.where, force=True)
    dissent = last(opened.where, "Round 2 of 4 open: dissent")
    assert labels(dissent) == ["Raise objection", "Add statement"]
    assert "/dissent" in fields(dissent)["The moderator next"]
    await advance(table.moderator, opened.where, force=True)
    synthesis = last(opened.where, "Round 3 of 4 open: synthesis")
    assert "/summary draft" in fields(synthesis)["The moderator next"]
    assert "/summary propose" in fields(synthesis)["The moderator next"]
    await advance(table.moderator, opened.where, force=True)
    consent = last(opened.where, "Round 4 of 4 open: consent")
    assert labels(consent) == ["Endorse", "Reservations", "Stand aside", "Block"]
    assert fields(consent)["Answered"] == "0 of 2 members"
    assert fields(consent)["Not answered yet"] == "Ada, Grace"

    await table.ada.click(consent, label="Endorse")
    refreshed = next(m for m in opened.where.history() if m.id == consent.id)
    assert fields(refreshed)["Answered"] == "1 of 2 members"
    assert fields(refreshed)["Not answered yet"] == "Grace"
