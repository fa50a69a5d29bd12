"""Issue 11, item 2 in Discord: members critique drafts (the Critique button and /summary critique),
the moderator asks the AI participants to revise a draft to answer the critiques (/summary revise),
and the sealed record keeps each draft's lineage.

The AI panel is a spec'd fake returning what a participant returns after its checks (a claim
with a verified quote); the gate test seats the real participant behind a scripted, adversarial
endpoint. Everything else is the real bot in SimCord with a real SQLite file.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from unittest.mock import create_autospec

import discord
import pytest
import simcord
from deliberation_helpers import (
    advance,
    assert_no_mentions_possible,
    event_count,
    fields,
    last,
    messages,
    record_of,
)
from discord_harness import Table

from bot.ai.grounding import Citation, Claim, split_sentences
from bot.ai.panel import AIPanel
from bot.ai.types import AIRequest, AIResult, AIUnavailable
from bot.app import RoundtableBot
from bot.config import Settings
from bot.engine.model import Actor
from bot.exts._shared.errors import APOLOGY
from tests.ai.ai_fakes import Script, make_participant, reply
from tests.fake_ai import answers_each

SAGE_LABEL = "AI participant · Sage · smollm2-135m · not authoritative"
ADA_SAYS = "Rest helps people think. A four-day week keeps the best people here."
GRACE_SAYS = "Clients call on Fridays. Someone has to answer them."
GRACE_CRITIQUE = "Nobody answers clients on Fridays under this draft. Add a Friday rota."
ADA_CRITIQUE = "Three months is too short to judge. Review it after six months."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m", "base_url": "http://fake.test/v1"}]},
    )


def _result(request: AIRequest, claim: Claim, *, stance: str | None = None) -> AIResult:
    ids = tuple(c.id for c in request.contributions)
    answers = tuple(sorted({c.contribution_id for c in claim.citations}))
    return AIResult(
        "Sage", "smollm2-135m", "fake.test", stance, f"- {claim.text}" if stance is None else claim.text, None,
        answers, "ab" * 32, ids, request.left_out_count, 10.0, 100, 40, claims=(claim,),
    )  # fmt: skip


@pytest.fixture
def ai_panel(settings: Settings) -> Any:
    """Sage: a position or a draft quoting the first member contribution; a revision quoting the
    first critique it was asked to answer. Every request is kept in `.requests`."""
    fake = create_autospec(AIPanel, instance=True)
    fake.config = settings.ai
    fake.requests = []

    async def ask(request: AIRequest, names: Sequence[str] | None = None) -> list[AIResult | AIUnavailable]:
        fake.requests.append(request)
        if request.task == "draft" and request.target_text is not None:
            critique = next(c for c in request.contributions if c.id == request.focus[0])
            quote = split_sentences(critique.text)[-1]
            claim = Claim("Keep the four-day week with a Friday rota for clients.", (Citation(critique.id, quote),))
            return [_result(request, claim)]
        first = request.contributions[0]
        claim = Claim("Try it for three months, then review.", (Citation(first.id, split_sentences(first.text)[0]),))
        return [_result(request, claim, stance="mixed" if request.task == "position" else None)]

    fake.ask.side_effect = ask
    return answers_each(fake)


async def to_synthesis(env: simcord.Env, table: Table, *, anonymous: bool = False) -> simcord.ChannelHandle:
    await table.admin.slash(
        table.deliberations, "deliberation start", question="A four-day week?", ai=True, anonymous=anonymous
    )
    thread = table.deliberations.threads[-1]
    await table.ada.slash(thread, "position", stance="Yes", reasoning=ADA_SAYS)
    await table.grace.slash(thread, "position", stance="No", reasoning=GRACE_SAYS)
    for _ in range(2):
        await env.advance_time(10 * 60 + 1)
        await advance(table.admin, thread)
    return thread


def _labels(message: discord.Message) -> list[str]:
    return [c.label for row in message.components for c in getattr(row, "children", [row]) if hasattr(c, "label")]


def _texts(result: simcord.InteractionResult) -> list[str]:
    return [m.content for m in [result.response, *result.followups] if m is not None]


async def _critique_by_button(member: simcord.MemberActor, draft_post: discord.Message, text: str) -> str:
    shown = await member.click(draft_post, label="Critique")
    assert shown.modal is not None, _texts(shown)
    done = await member.submit_modal(shown, {"critique": text})
    assert done.ephemeral
    assert done.response is not None
    return done.response.content


async def test_critiques_by_button_and_command_a_revision_adopted_and_the_lineage_sealed(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    thread = await to_synthesis(env, table)
    await table.admin.slash(thread, "summary draft")
    draft_post = last(thread, "Draft proposal #")
    assert "Critique" in _labels(draft_post)
    draft = int((draft_post.embeds[0].title or "").split("#")[1].split()[0])

    choices = await table.ada.autocomplete(thread, "summary critique", "draft", "")
    assert [c["value"] for c in choices] == [draft]
    assert choices[0]["name"].startswith(f"#{draft} by Sage: ")
    # Grace by the draft's button, Ada by the command: both open the same form.
    said = await _critique_by_button(table.grace, draft_post, GRACE_CRITIQUE)
    grace_id = draft + 1
    assert said == f"Your critique of draft #{draft} is recorded as #{grace_id}; it is being posted in the thread."
    shown = await table.ada.slash(thread, "summary critique", draft=draft)
    assert shown.modal is not None
    assert shown.modal["title"] == f"Critique draft #{draft}"
    done = await table.ada.submit_modal(shown, {"critique": ADA_CRITIQUE})
    ada_id = grace_id + 1
    assert done.response is not None
    assert (
        done.response.content
        == f"Your critique of draft #{draft} is recorded as #{ada_id}; it is being posted in the thread."
    )

    for number, text in ((grace_id, GRACE_CRITIQUE), (ada_id, ADA_CRITIQUE)):
        post = last(thread, f"Critique #{number}")
        assert post.embeds[0].title == f"Critique #{number} (on draft #{draft})"
        assert post.embeds[0].description == text
        assert post.reference is not None
        assert post.reference.message_id == draft_post.id  # posted as a reply to the draft
    refreshed = next(m for m in thread.history() if m.id == draft_post.id)
    assert fields(refreshed)["Critiques"] == f"#{grace_id}, #{ada_id}"

    # Only the moderator asks for a revision; the AI is asked with the critiques first.
    refused = await table.ada.slash(thread, "summary revise", draft=draft)
    assert refused.response is not None
    assert refused.response.content == "Only moderators can do that."
    asked = await table.admin.slash(thread, "summary revise", draft=draft)
    assert (
        f"Asked Sage to revise draft #{draft} to answer its 2 critiques from members. Revisions appear in the "
        "deliberation, labelled, as replies to the draft; put one to the group with /summary adopt."
    ) in _texts(asked)
    request = ai_panel.requests[-1]
    assert (request.task, request.focus) == ("draft", (grace_id, ada_id))
    assert request.target_text == "- Try it for three months, then review."
    assert draft not in {c.id for c in request.contributions}  # shown as the draft to revise, not as material

    revision_post = last(thread, "Draft proposal #")
    revision = ada_id + 1
    embed = revision_post.embeds[0]
    assert embed.title == f"Draft proposal #{revision} (revises draft #{draft})"
    assert embed.author.name == SAGE_LABEL
    assert revision_post.reference is not None
    assert revision_post.reference.message_id == draft_post.id
    assert fields(revision_post)["Quoted from members"] == f'#{grace_id} **Grace**: "Add a Friday rota."'
    assert "Critique" in _labels(revision_post)  # a revision can be critiqued in turn
    refreshed = next(m for m in thread.history() if m.id == draft_post.id)
    assert fields(refreshed)["Revised as"] == f"draft #{revision}"

    # Asked again with nothing new to answer: refused, nothing asked of the AI.
    before = len(ai_panel.requests)
    again = await table.admin.slash(thread, "summary revise", draft=draft)
    assert again.response is not None
    assert "has been revised since its last critique" in again.response.content
    assert len(ai_panel.requests) == before

    # Adopted, consent, sealed: the record keeps the lineage, and critics took part in synthesis.
    await table.admin.slash(thread, "summary adopt", draft=revision)
    await env.advance_time(10 * 60 + 1)
    await advance(table.admin, thread)
    closed = last(thread, "Round 3 of 4 closed: synthesis")
    took = fields(closed)["Took part"]
    assert "Ada" in took
    assert "Grace" in took
    await table.ada.slash(thread, "consent", choice="endorse")
    await table.grace.slash(thread, "consent", choice="endorse")
    await advance(table.admin, thread, force=True)
    stored = await bot.roundtable.record(table.guild.id, 1)
    lineage = {entry["id"]: entry for entry in stored.record["draft_lineage"]}
    assert lineage[draft]["revised_by"] == [revision]
    assert lineage[draft]["drafted_by"]["label"] == SAGE_LABEL
    assert [(c["id"], c["author"]["name"], c["text"]) for c in lineage[draft]["critiques"]] == [
        (grace_id, "Grace", GRACE_CRITIQUE),
        (ada_id, "Ada", ADA_CRITIQUE),
    ]
    assert lineage[revision]["revises"] == draft
    assert stored.record["proposal"]["draft_id"] == revision
    assert f"- Revises draft #{draft}, to answer its critiques." in stored.markdown
    assert f"Critique #{grace_id} by Grace:" in stored.markdown
    sealed_post = next(m for m in reversed(messages(thread)) if m.attachments)
    posted_json, posted_md = await record_of(sealed_post)
    assert posted_json["draft_lineage"] == stored.record["draft_lineage"]
    assert posted_md == stored.markdown
    # verify replays every event through the engine's rules, the lineage's included.
    assert await bot.roundtable.store.verify() == []


async def test_critiques_and_revisions_refuse_bad_input_clearly_and_store_nothing(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    await table.admin.slash(table.deliberations, "deliberation start", question="A four-day week?", ai=True)
    thread = table.deliberations.threads[-1]
    early = await table.ada.slash(thread, "summary critique", draft=1)
    assert early.response is not None
    assert early.response.content.startswith("The positions round is under way; critiques belong to the synthesis")
    await table.ada.slash(thread, "position", stance="Yes", reasoning=ADA_SAYS)
    await table.grace.slash(thread, "position", stance="No", reasoning=GRACE_SAYS)
    for _ in range(2):
        await env.advance_time(10 * 60 + 1)
        await advance(table.admin, thread)
    watcher = table.guild.add_member(env.create_user("Watcher"))
    await watcher.slash(thread, "deliberation join", **{"as": "observer"})

    none_yet = await table.admin.slash(thread, "summary revise", draft=999)
    assert none_yet.response is not None
    assert none_yet.response.content == "There is no draft #999 here to revise."
    await table.admin.slash(thread, "summary draft")
    draft_post = last(thread, "Draft proposal #")
    draft = int((draft_post.embeds[0].title or "").split("#")[1].split()[0])
    before = await event_count(bot, table, 1)
    asked = len(ai_panel.requests)

    async def refused(result: simcord.InteractionResult, words: str) -> None:
        assert result.ephemeral
        assert result.response is not None
        assert words in result.response.content, result.response.content
        assert result.response.content != APOLOGY
        assert await event_count(bot, table, 1) == before

    await refused(await watcher.click(draft_post, label="Critique"), "You are observing this deliberation")
    await refused(await watcher.slash(thread, "summary critique", draft=draft), "observing")
    await refused(await table.ada.slash(thread, "summary critique", draft=1), "#1 is a position, not a draft")
    await refused(await table.ada.slash(thread, "summary critique", draft=999), "There is no draft #999 here")
    for text, words in (("   ", "The critique is empty"), ("\u200b\u2800", "The critique is empty")):
        shown = await table.ada.click(draft_post, label="Critique")
        await refused(await table.ada.submit_modal(shown, {"critique": text}), words)
    await refused(
        await table.admin.slash(thread, "summary revise", draft=draft),
        f"No member has critiqued draft #{draft} yet, and a revision answers the members' critiques.",
    )
    await refused(await table.admin.slash(thread, "summary revise", draft=1), "#1 is a position, not a draft")
    assert len(ai_panel.requests) == asked

    # A double submit of the same words is stored once.
    await _critique_by_button(table.grace, draft_post, GRACE_CRITIQUE)
    before = await event_count(bot, table, 1)
    shown = await table.grace.click(draft_post, label="Critique")
    await refused(await table.grace.submit_modal(shown, {"critique": GRACE_CRITIQUE}), "in these words already")

    # Sealed: the old button answers plainly.
    await advance(table.admin, thread, force=True)
    await table.ada.slash(thread, "consent", choice="endorse")
    await table.grace.slash(thread, "consent", choice="endorse")
    await advance(table.admin, thread, force=True)
    before = await event_count(bot, table, 1)
    await refused(await table.ada.click(draft_post, label="Critique"), "This deliberation is closed")


async def test_a_revision_that_fails_the_gate_is_a_labelled_notice_and_no_draft(
    env: simcord.Env, table: Table, bot: RoundtableBot, settings: Settings
) -> None:
    """The real participant and gate behind an adversarial endpoint: its revision copies a critique
    word for word, then (the one retry) quotes only a position; neither is posted."""
    thread = await to_synthesis(env, table)
    await table.admin.slash(thread, "summary draft")
    draft = int((last(thread, "Draft proposal #").embeds[0].title or "").split("#")[1].split()[0])
    shown = await table.grace.slash(thread, "summary critique", draft=draft)
    await table.grace.submit_modal(shown, {"critique": GRACE_CRITIQUE})
    d = await bot.roundtable.get(table.guild.id, 1)
    ada_position = next(c.id for c in d.positions() if c.text == ADA_SAYS)
    (critique,) = d.critiques_of(draft)
    copied = reply(claims=[{"quotes": [f"{critique.id}.1"], "text": GRACE_CRITIQUE}], answers=[critique.id])
    ignores = reply(claims=[{"quotes": [f"{ada_position}.1"], "text": "Rest matters, so keep the plan."}], answers=[])
    script = Script(copied, ignores)
    # From here on the real panel and participant answer, with the scripted endpoint behind them.
    panel = AIPanel(settings.ai)
    panel.participants = [make_participant(script, name="Sage", model="smollm2-135m")]
    bot.roundtable.ai = panel
    drafts_before = len(d.drafts())

    asked = await table.admin.slash(thread, "summary revise", draft=draft)
    assert any(t.startswith(f"Asked Sage to revise draft #{draft}") for t in _texts(asked))
    await env.settle()

    assert len(script.calls) == 2  # one retry, then refused
    user = script.calls[0]["messages"][1]["content"]
    assert "The proposal draft to revise:" in user
    notices = [m.content for m in messages(thread) if m.content.startswith("AI participant Sage")]
    assert notices == [
        "AI participant Sage gave no usable contribution (quotes none of the critiques it was to answer); "
        "the deliberation goes on."
    ]
    d = await bot.roundtable.get(table.guild.id, 1)
    assert len(d.drafts()) == drafts_before
    assert d.revisions_of(draft) == []
    assert [name for name, *_ in d.ai_unavailable] == ["Sage"]
    assert [m for m in messages(thread, "Draft proposal #") if "revises" in (m.embeds[0].title or "")] == []
    # The moderator may ask again: the critique is still unanswered.
    assert d.check_revision(Actor.human(table.admin.id, "Admin", moderates=True), draft) == ("Sage",)


async def test_anonymous_critiques_and_revisions_show_aliases_only(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    thread = await to_synthesis(env, table, anonymous=True)
    start = len(env.http_requests)
    await table.admin.slash(thread, "summary draft")
    draft_post = last(thread, "Draft proposal #")
    draft = int((draft_post.embeds[0].title or "").split("#")[1].split()[0])
    await _critique_by_button(table.grace, draft_post, GRACE_CRITIQUE)
    shown = await table.ada.slash(thread, "summary critique", draft=draft)
    await table.ada.submit_modal(shown, {"critique": ADA_CRITIQUE})
    await table.admin.slash(thread, "summary revise", draft=draft)
    await table.admin.slash(thread, "summary adopt", draft=draft + 3)
    await advance(table.admin, thread, force=True)
    await table.ada.slash(thread, "consent", choice="endorse")
    await table.grace.slash(thread, "consent", choice="endorse")
    await advance(table.admin, thread, force=True)

    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.revisions_of(draft)  # the revision happened
    names = ("Ada", "Grace", f"<@{table.ada.id}>", f"<@{table.grace.id}>")
    later = [json.dumps(r.json, default=str) for r in env.http_requests[start:] if isinstance(r.json, dict)]
    prompts = [json.dumps([c.author_label for c in req.contributions]) for req in ai_panel.requests]
    assert len(later) > 10
    assert any(GRACE_CRITIQUE in body for body in later)  # the critiques were posted, under aliases
    for body in [*later, *prompts]:
        for name in names:
            assert name not in body, (name, body[:300])
    stored = await bot.roundtable.record(table.guild.id, 1)
    text = json.dumps(stored.record) + stored.markdown
    assert "Ada" not in text
    assert "Grace" not in text
    authors = [c["author"]["name"] for c in stored.record["draft_lineage"][0]["critiques"]]
    assert authors == [d.participants[f"human:{table.grace.id}"].alias, d.participants[f"human:{table.ada.id}"].alias]


async def test_a_forged_critique_button_is_refused_and_changes_nothing(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    thread = await to_synthesis(env, table)
    await table.admin.slash(thread, "summary draft")
    elsewhere = env.create_guild("Elsewhere")
    stranger = elsewhere.add_member(env.create_user("Stranger"), roles=[])
    channel = elsewhere.create_text_channel("deliberations")
    theirs = await bot.roundtable.start(elsewhere.id, channel.id, Actor.human(stranger.id, "Stranger"), "Theirs?")
    other = theirs.deliberation.id
    before = (await event_count(bot, table, 1), len(await bot.roundtable.store.load_events(elsewhere.id, other)))
    assert env.bot.user is not None
    for custom_id in (f"rt:crit:{other}:1", "rt:crit:1:1", "rt:crit:1:999", "rt:crit:99999999999999999999:1"):
        button = {"type": 2, "style": 1, "label": "Forged", "custom_id": custom_id}
        stored = env.backend.create_message(
            thread.id, env.bot.user.id, "", components=[{"type": 1, "components": [button]}]
        )
        forged = next(m for m in thread.history() if m.id == stored.id)
        result = await table.ada.click(forged, label="Forged")
        assert result.ephemeral, custom_id
        assert result.modal is None, custom_id
        assert result.response is not None
        assert result.response.content, custom_id
        assert result.response.content != APOLOGY, custom_id
    after = (await event_count(bot, table, 1), len(await bot.roundtable.store.load_events(elsewhere.id, other)))
    assert after == before


async def test_a_critique_stored_while_discord_fails_appears_once_under_its_draft(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    thread = await to_synthesis(env, table)
    await table.admin.slash(thread, "summary draft")
    draft_post = last(thread, "Draft proposal #")
    draft = int((draft_post.embeds[0].title or "").split("#")[1].split()[0])
    shown = await table.grace.click(draft_post, label="Critique")
    # Once: the critique's own post (a longer outage also fails the dissent map's post, a listener
    # that does not survive a 500: reported, not this feature's).
    env.inject_error("POST", f"/channels/{thread.id}/messages", status=500, times=1)

    done = await table.grace.submit_modal(shown, {"critique": GRACE_CRITIQUE + " @everyone"})

    assert done.response is not None
    # Answered once stored, whatever Discord is doing; the post follows when Discord takes it.
    assert (
        done.response.content
        == f"Your critique of draft #{draft} is recorded as #{draft + 1}; it is being posted in the thread."
    )
    await restart()
    await env.advance_time(60)
    (post,) = messages(thread, f"Critique #{draft + 1}")
    assert post.reference is not None
    assert post.reference.message_id == draft_post.id
    assert post.embeds[0].description == GRACE_CRITIQUE + " @everyone"
    assert assert_no_mentions_possible(env) > 5
