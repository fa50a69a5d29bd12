"""AI participants in Discord: when they speak, `/ai speak`, `/summary draft | adopt | propose`.

The model endpoints are a spec'd fake (`create_autospec(AIPanel)`) given to the bot through
`create_bot(ai=...)`; everything else is the real bot. Issue 4's end-to-end run against the
real embedded model is in test_ai_embedded_e2e.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
from deliberation_helpers import advance, fields
from discord_harness import Table

from bot.app import RoundtableBot
from bot.config import Settings
from tests.fake_ai import fake_panel

AI_PARTICIPANTS = [
    {"name": "Sage", "model": "smollm2-135m"},
    # A closed port: nothing listens on 127.0.0.1:9.
    {"name": "Dead", "model": "smollm2-135m", "base_url": "http://127.0.0.1:9/v1"},
]
SAGE_LABEL = "AI participant · Sage · smollm2-135m · not authoritative"
DEAD_NOTICE = "AI participant Dead is unavailable; the deliberation goes on."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": AI_PARTICIPANTS},
    )


@pytest.fixture
def ai_panel(settings: Settings) -> Any:
    return fake_panel(
        settings.ai,
        lambda request: ("Either" if request.task == "position" else None, f"A {request.task} from Sage, @everyone."),
    )


async def start(table: Table, *, template: str = "quick") -> simcord.ChannelHandle:
    result = await table.admin.slash(
        table.deliberations, "deliberation start", question="Adopt a code of conduct?", template=template, ai=True
    )
    assert result.acknowledged
    return table.deliberations.threads[-1]


def ai_posts(thread: simcord.ChannelHandle) -> list[discord.Message]:
    return [m for m in thread.history() if m.embeds and (m.embeds[0].author.name or "") == SAGE_LABEL]


def notices(thread: simcord.ChannelHandle) -> list[str]:
    return [m.content for m in thread.history() if m.content == DEAD_NOTICE]


async def test_ai_positions_come_only_after_every_member_has_spoken(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    thread = await start(table)
    await table.grace.slash(thread, "deliberation join", **{"as": "participant"})
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")

    assert ai_panel.requests == []
    assert ai_posts(thread) == []

    await table.grace.slash(thread, "position", stance="Yes, short", reasoning="Keep it short.")

    ((request, names),) = ai_panel.requests
    assert request.task == "position"
    assert names == ["Sage", "Dead"]
    assert [c.text for c in request.contributions] == ["We need one.", "Keep it short."]
    (post,) = ai_posts(thread)
    embed = post.embeds[0]
    assert embed.title is not None
    assert embed.title.endswith(": Either")
    assert embed.description == "A position from Sage, @everyone."
    assert "written by an AI" in (embed.footer.text or "")
    assert notices(thread) == [DEAD_NOTICE]
    d = await bot.roundtable.get(table.guild.id, 1)
    (ai_position,) = [c for c in d.positions() if c.by_ai]
    assert ai_position.ai_meta is not None
    assert ai_position.ai_meta["model"] == "smollm2-135m"
    assert d.ai_unavailable[0][0] == "Dead"


async def test_ai_positions_come_at_half_time_and_the_timer_survives_a_restart(
    env: simcord.Env, table: Table, ai_panel: Any, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    thread = await start(table)
    await table.grace.slash(thread, "deliberation join", **{"as": "participant"})
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    await env.advance_time(29 * 60)
    assert ai_panel.requests == []

    await restart()
    await env.advance_time(60 + 1)  # half of the 60-minute round has passed

    assert len(ai_panel.requests) == 1
    assert len(ai_posts(thread)) == 1
    assert notices(thread) == [DEAD_NOTICE]


async def test_ai_positions_due_before_half_time_are_asked_for_right_after_a_restart(
    env: simcord.Env, table: Table, ai_panel: Any, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    """Every member had spoken, but the AI turn died with the process: the start asks again at once."""
    answer = ai_panel.ask.side_effect

    async def crash_once(*args: Any, **kwargs: Any) -> Any:
        ai_panel.ask.side_effect = answer
        raise RuntimeError("the model server went away")

    ai_panel.ask.side_effect = crash_once
    thread = await start(table)
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    await table.grace.slash(thread, "position", stance="Yes", reasoning="A short one.")  # the quorum of 2
    assert ai_panel.ask.await_count == 1
    assert ai_posts(thread) == []

    await restart()  # at the start of a 60-minute round: long before half-time

    ((request, names),) = ai_panel.requests
    assert request.task == "position"
    assert names == ["Sage", "Dead"]
    assert len(ai_posts(thread)) == 1
    assert notices(thread) == [DEAD_NOTICE]


async def test_ai_speak_is_for_moderators(env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any) -> None:
    await table.admin.slash(table.deliberations, "roundtable setup", moderator_role=table.moderators)
    thread = await start(table)

    refused = await table.ada.slash(thread, "ai speak")
    assert refused.ephemeral
    assert refused.response is not None
    assert refused.response.content == "Only moderators can do that."
    assert ai_panel.requests == []

    # Before any member has spoken, a moderator may ask (one of the server, not only the one who
    # opened it), and the record says who asked.
    asked = await table.moderator.slash(thread, "ai speak")
    assert asked.ephemeral
    texts = [m.content for m in [asked.response, *asked.followups] if m is not None]
    assert "Asked Sage, Dead for their positions; they appear in the deliberation, labelled, when ready." in texts
    assert len(ai_panel.requests) == 1
    assert len(ai_posts(thread)) == 1
    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.round.ai_requested
    events = await bot.roundtable.store.load_events(table.guild.id, 1)
    assert [e.actor.id for e in events if e.kind == "ai.requested"] == [str(table.moderator.id)]

    # The moderator's ask is the override: Dead failed, but asking again asks Dead again (and only Dead).
    again = await table.admin.slash(thread, "ai speak")
    texts = [m.content for m in [again.response, *again.followups] if m is not None]
    assert "Asked Dead for their positions; they appear in the deliberation, labelled, when ready." in texts
    assert [names for _, names in ai_panel.requests] == [["Sage", "Dead"], ["Dead"]]
    assert notices(thread) == [DEAD_NOTICE, DEAD_NOTICE]
    d = await bot.roundtable.get(table.guild.id, 1)
    # Members' positions are still awaited, so no automatic turn asks Dead a third time.
    assert [name for name, *_ in d.ai_unavailable] == ["Dead", "Dead"]


async def synthesis(env: simcord.Env, table: Table, thread: simcord.ChannelHandle) -> None:
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    for _ in range(2):
        await env.advance_time(10 * 60 + 1)
        await advance(table.admin, thread)


async def test_summary_draft_critique_adopt_amend_and_propose_record_authorship(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    thread = await start(table, template="consent")
    await synthesis(env, table, thread)
    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.round.kind.value == "synthesis"
    requests_before = len(ai_panel.requests)

    for command in ("summary draft", "summary propose", "ai speak"):
        refused = await table.ada.slash(thread, command)
        assert refused.response is not None
        assert refused.response.content == "Only moderators can do that.", command
    assert len(ai_panel.requests) == requests_before

    no_draft = await table.admin.slash(thread, "ai speak")
    assert no_draft.response is not None
    assert no_draft.response.content == "There is no draft to critique yet: ask for drafts with /summary draft."

    drafted = await table.admin.slash(thread, "summary draft")
    texts = [m.content for m in [drafted.response, *drafted.followups] if m is not None]
    assert any(t.startswith("Asked Sage, Dead to draft a proposal") for t in texts)
    (draft_post,) = [m for m in ai_posts(thread) if (m.embeds[0].title or "").startswith("Draft proposal")]
    d = await bot.roundtable.get(table.guild.id, 1)
    (draft,) = d.drafts()
    assert draft_post.embeds[0].title == f"Draft proposal #{draft.id}"
    assert draft.answers  # the ids it was given and answers

    choices = await table.admin.autocomplete(thread, "summary adopt", "draft", "")
    assert [c["value"] for c in choices] == [draft.id]
    assert choices[0]["name"].startswith(f"#{draft.id} by Sage: A draft from Sage")

    refused = await table.ada.slash(thread, "summary adopt", draft=draft.id)
    assert refused.response is not None
    assert refused.response.content == "Only moderators can do that."

    critique = await table.admin.slash(thread, "ai speak")
    texts = [m.content for m in [critique.response, *critique.followups] if m is not None]
    assert f"Asked Sage, Dead to critique draft #{draft.id}; their critiques appear when ready." in texts
    (critique_post,) = [m for m in ai_posts(thread) if (m.embeds[0].title or "").startswith("Critique")]
    assert critique_post.embeds[0].title == f"Critique #{draft.id + 1} (on draft #{draft.id})"

    adopted = await table.admin.slash(thread, "summary adopt", draft=draft.id)
    assert adopted.response is not None
    assert adopted.response.ephemeral
    # The dissent map is computed on a worker thread and may land at any point: find the proposal by title.
    (announced,) = [m for m in thread.history() if m.embeds and m.embeds[0].title == "Proposal before the group"]
    authorship = {f.name: f.value for f in announced.embeds[0].fields}["Authorship"]
    # The record's own wording (engine.record.authorship), the same in every view.
    assert authorship == f"Draft #{draft.id} by AI participant Sage (smollm2-135m), adopted as is by Admin."

    shown = await table.admin.slash(thread, "summary adopt", draft=draft.id, amend=True)
    assert shown.modal is not None
    amended = f"{draft.text} Reviewed yearly. <@&1>"  # most of the draft's words remain: amended
    done = await table.admin.submit_modal(shown, {"proposal": amended})
    assert done.response is not None
    assert "adopted with amendments by Admin" in done.response.content
    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.proposal is not None
    assert d.proposal.source.value == "amended"
    assert d.proposal.text == amended

    # Little of the draft left: the record credits the moderator who replaced it.
    shown = await table.admin.slash(thread, "summary adopt", draft=draft.id, amend=True)
    done = await table.admin.submit_modal(shown, {"proposal": "Adopt it, reviewed yearly. <@&1>"})
    assert done.response is not None
    assert f"Written by Admin, replacing draft #{draft.id} by AI participant Sage" in done.response.content

    blank = await table.admin.slash(thread, "summary propose")
    assert blank.modal is not None
    refused = await table.admin.submit_modal(blank, {"proposal": "   "})
    assert refused.response is not None
    assert refused.response.content == "The proposal is empty. Write something, then send it again."

    written = await table.admin.slash(thread, "summary propose")
    done = await table.admin.submit_modal(written, {"proposal": "Our own words."})
    assert done.response is not None
    assert done.response.content == "The proposal before the group is set. Written by Admin."

    # Consent, then the record says who wrote the proposal.
    await advance(table.admin, thread, force=True)
    await table.ada.slash(thread, "consent", choice="endorse")
    await table.grace.slash(thread, "consent", choice="endorse")
    await advance(table.admin, thread, force=True)
    stored = await bot.roundtable.record(table.guild.id, 1)
    assert stored.record["proposal"]["summary"] == "Written by Admin."
    assert stored.record["tally"]["endorse"] == 2
    assert all(s["counted"] is False for s in stored.record["ai_stances"])


async def test_the_ai_never_anchors_the_first_member_it_waits_for_everyone_invited(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    result = await table.admin.slash(
        table.deliberations, "deliberation start", question="Adopt a code of conduct?", ai=True, invite=table.linus
    )
    assert result.acknowledged
    thread = table.deliberations.threads[-1]
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    await table.grace.slash(thread, "position", stance="Yes", reasoning="Keep it short.")
    # The quorum (2) has spoken, but Linus was invited and has not: the AI waits.
    assert ai_panel.requests == []
    status = await table.admin.slash(thread, "deliberation status")
    speaks = fields(status.response)["When the AI speaks"]  # type: ignore[arg-type]
    assert speaks.startswith(f"After 1 more member(s) state a position (<@{table.linus.id}>), or at ")

    await table.linus.slash(thread, "position", stance="No", reasoning="Too early.")
    ((request, _),) = ai_panel.requests
    assert [c.text for c in request.contributions] == ["We need one.", "Keep it short.", "Too early."]
