"""Who may do what, anonymity, reminders, and a restart in the middle of a round."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

import pytest
import simcord
from deliberation_helpers import (
    advance,
    assert_no_mentions_possible,
    attachments,
    configure,
    deliberation,
    event_count,
    fields,
    last,
    messages,
    open_deliberation,
    record_of,
    sent_payloads,
    state_position,
)
from discord_harness import Table

from bot.app import RoundtableBot
from bot.config import Settings


async def test_only_the_moderator_runs_the_process_and_observers_only_read(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    refused = await table.ada.slash(table.deliberations, "deliberation start", question="Mine?")
    assert refused.response.content == "Only moderators can do that."  # type: ignore[union-attr]
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Support", "Yes.")
    before = await event_count(bot, table, opened.id)

    for command, options, message in (
        ("deliberation advance", {"force": True}, "Only the moderator can close a round."),
        ("deliberation extend", {"minutes": 30}, "Only the moderator can extend a round."),
        ("deliberation cancel", {"reason": "No."}, "Only the moderator can cancel the deliberation."),
    ):
        result = await table.ada.slash(opened.where, command, **options)
        assert result.ephemeral
        assert result.response.content == message  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == before

    # Any member with the guild's moderator rights (here Manage Server) may run it, and the
    # events say who did.
    taken = await table.admin.slash(opened.where, "deliberation extend", minutes=15)
    assert taken.response.content.startswith("Extended")  # type: ignore[union-attr]
    events = await bot.roundtable.store.load_events(table.guild.id, opened.id)
    assert [(e.kind, e.actor.id) for e in events[-2:]] == [
        ("participant.joined", str(table.admin.id)),  # seated as a moderator, the first time
        ("round.extended", str(table.admin.id)),
    ]
    before += 2

    joined = await table.linus.slash(opened.where, "deliberation join", **{"as": "observer"})
    assert "as observer" in joined.response.content  # type: ignore[union-attr]
    after_join = await event_count(bot, table, opened.id)
    assert after_join == before + 1
    vote = await table.linus.click(last(opened.where, "Position #"), label="Agree")
    assert vote.response.content == "You are observing this deliberation, so you cannot vote."  # type: ignore[union-attr]
    shown = await table.linus.click(opened.agenda, label="State position")
    done = await table.linus.submit_modal(shown, {"stance": "Yes", "reasoning": "Me too."})
    assert "observing" in done.response.content  # type: ignore[union-attr]
    assert await event_count(bot, table, opened.id) == after_join

    # The moderator extends; the scheduler follows the new deadline.
    d = await deliberation(bot, table, opened.id)
    old = d.round.deadline
    await table.moderator.slash(opened.where, "deliberation extend", minutes=30)
    assert d.round.deadline is not None
    assert old is not None
    assert (d.round.deadline - old).total_seconds() == 30 * 60
    assert bot.deadlines.deadline_of(opened.id) == d.round.deadline
    assert "extended" in (last(opened.where, "The positions round is extended").embeds[0].title or "")


async def test_anonymous_deliberations_show_aliases_only(
    env: simcord.Env, table: Table, bot: RoundtableBot, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.deliberation.reveal_aliases_to_moderator = True
    caplog.set_level(logging.DEBUG, logger="bot")
    await configure(table)
    opened = await open_deliberation(table, template="quick", anonymous=True)
    await state_position(table.ada, opened, "Support", "Yes, Fridays.")
    await state_position(table.grace, opened, "Oppose", "No, family time.")
    await table.linus.slash(opened.where, "deliberation join", **{"as": "participant"})
    positions = messages(opened.where, "Position #")
    assert [m.embeds[0].author.name for m in positions] == ["Participant 1", "Participant 2"]

    # The moderator may see who is behind an alias, in an answer only they see.
    shown = await table.moderator.slash(opened.where, "deliberation status")
    assert shown.ephemeral
    members = fields(shown.response)[f"Members ({4})"]  # type: ignore[arg-type]
    assert "Participant 1 (Ada): participant" in members
    ada_view = await table.ada.slash(opened.where, "deliberation status")
    assert "Ada" not in json.dumps(ada_view.response.embeds[0].to_dict())  # type: ignore[union-attr]

    await advance(table.moderator, opened.where, force=True)
    consent_round = last(opened.where, "Round 2 of 2 open: consent")
    await table.ada.click(consent_round, label="Endorse")
    shown = await table.grace.click(consent_round, label="Block")
    await table.grace.submit_modal(shown, {"reason": "Family time matters."})
    await advance(table.moderator, opened.where, force=True)
    record, markdown = await record_of(last(table.archive, "Decision record #"))
    assert record["standing_objections"][0]["author"] == "Participant 2"

    # Nothing public the bot sent, nor any attachment, nor any log line names a member.
    public = [m for where in (opened.where, table.archive) for m in where.history() if not m.flags.ephemeral]
    texts = [m.content for m in public] + [json.dumps(e.to_dict()) for m in public for e in m.embeds]
    for m in public:
        texts += [b.decode() for b in (await attachments(m)).values()]
    texts += [r.getMessage() for r in caplog.records]
    texts += [json.dumps(b) for b in sent_payloads(env) if not b.get("flags", 0) & 64]
    for name in ("Ada", "Grace", "Linus"):
        assert not [t for t in texts if name in t], name
    assert "Participant 1" in markdown


async def test_reminders_mention_exactly_the_members_who_asked(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    on = await table.ada.click(opened.agenda, label="Remind me")
    assert on.response.content.startswith("Reminders on")  # type: ignore[union-attr]
    await table.grace.click(opened.agenda, label="Remind me")
    off = await table.grace.click(opened.agenda, label="Remind me")
    assert off.response.content.startswith("Reminders off")  # type: ignore[union-attr]
    await state_position(table.linus, opened, "Yes <@&1> @everyone", "Sure.")

    await advance(table.moderator, opened.where, force=True)
    announcement = last(opened.where, "Round 2 of 2 open: consent")
    assert announcement.content == f"Reminder: a new round is open. <@{table.ada.id}>"
    assert_no_mentions_possible(env, reminded={table.ada.id})
    reminder_bodies = [b for b in sent_payloads(env) if b.get("allowed_mentions", {}).get("users")]
    assert [[int(u) for u in b["allowed_mentions"]["users"]] for b in reminder_bodies] == [[table.ada.id]]
    assert (await deliberation(bot, table, opened.id)).participants[f"human:{table.ada.id}"].reminders


async def test_a_restart_mid_round_loses_nothing_and_old_buttons_work(
    env: simcord.Env, table: Table, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick")
    await state_position(table.ada, opened, "Support", "Fridays suit more people.")
    ada_post = last(opened.where, "Position #")

    bot = await restart()

    # Buttons on messages from before the restart.
    vote = await table.grace.click(ada_post, label="Agree")
    assert "recorded" in vote.response.content  # type: ignore[union-attr]
    assert fields(next(m for m in opened.where.history() if m.id == ada_post.id))["Votes"].startswith("Agree 1")
    await state_position(table.linus, opened, "Oppose", "Venue closed on Fridays.")
    await table.ada.click(opened.agenda, label="Remind me")
    assert bot.deadlines.deadline_of(opened.id) is not None

    # The deadline passes on the simulated clock: the round closes and is announced.
    await env.advance_time(60 * 60 + 1)
    closed = fields(last(opened.where, "Round 1 of 2 closed"))
    assert closed["Took part"] == "Ada, Grace, Linus"
    consent_round = last(opened.where, "Round 2 of 2 open: consent")
    assert str(table.ada.id) in consent_round.content

    bot = await restart()
    for member in (table.ada, table.grace):
        await member.click(consent_round, label="Endorse")
    asked = await table.linus.click(consent_round, label="Stand aside")  # a reason is optional
    await table.linus.submit_modal(asked, {"reason": ""})
    await env.advance_time(60 * 60 + 1)

    record, _ = await record_of(last(table.archive, "Decision record #"))
    assert [p["author"]["name"] for p in record["positions"]] == ["Ada", "Linus"]
    assert record["positions"][0]["votes"] == {"agree": 1, "disagree": 0, "pass": 0}
    assert record["tally"] == {"endorse": 2, "reservations": 0, "stand_aside": 1, "block": 0}
    assert record["outcome"]["kind"] == "consent"
    assert not (await deliberation(bot, table, opened.id)).is_open
    assert opened.id not in bot.deadlines


async def test_in_an_anonymous_deliberation_reminders_go_by_direct_message_never_as_mentions(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table, template="quick", anonymous=True)
    await table.ada.click(opened.agenda, label="Remind me")
    await state_position(table.grace, opened, "Support", "Yes.")

    await advance(table.moderator, opened.where, force=True)
    announcement = last(opened.where, "Round 2 of 2 open: consent")
    assert not announcement.content  # no mention ties Ada to an alias
    assert not [b for b in sent_payloads(env) if b.get("allowed_mentions", {}).get("users")]
    assert str(table.ada.id) not in json.dumps([m.content for m in opened.where.history()])
    private = table.ada.user.dm_channel.history()
    assert [m.content for m in private] == [
        f"Reminder: round 2 (consent) of deliberation #{opened.id} is open: Should we move the meetup to Fridays?"
    ]
    assert not table.grace.user.dm_channel.history()
