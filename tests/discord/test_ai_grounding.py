"""Issue 10 in Discord: an AI draft shows the members' words it quotes and the dissent it leaves
unanswered; a refused AI answer is a labelled notice, not a post.

The AI panel is a spec'd fake (its answers are what the participant would return after its
checks); everything else is the real bot in SimCord.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest.mock import create_autospec

import discord
import pytest
import simcord
from deliberation_helpers import advance, last, record_of
from discord_harness import Table
from service_flows import until

from bot.ai.grounding import Citation, Claim, split_sentences
from bot.ai.panel import AIPanel
from bot.ai.types import AIRejected, AIRequest, AIResult, AIUnavailable
from bot.app import RoundtableBot
from bot.config import Settings
from tests.fake_ai import answers_each

SAGE_LABEL = "AI participant · Sage · smollm2-135m · not authoritative"
ADA_SAYS = "Rest helps people think. A four-day week keeps the best people here."
GRACE_SAYS = "Clients call on Fridays. Someone has to answer them."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )


class Answers:
    """What the fake panel's Sage returns: a draft quoting the first position, or a refusal."""

    refuse: str | None = None


@pytest.fixture
def ai_panel(settings: Settings) -> Any:
    fake = create_autospec(AIPanel, instance=True)
    fake.config = settings.ai
    fake.answers = Answers()

    async def ask(request: AIRequest, names: Sequence[str] | None = None) -> list[AIResult | AIUnavailable]:
        if fake.answers.refuse is not None:
            return [AIRejected("Sage", fake.answers.refuse)]
        first = request.contributions[0]
        quote = split_sentences(first.text)[1]
        claim = Claim("Try it for three months, then review.", (Citation(first.id, quote),))
        ids = tuple(c.id for c in request.contributions)
        result = AIResult(
            "Sage", "smollm2-135m", "127.0.0.1 (embedded)", None, f"- {claim.text}", None, (), "ab" * 32,
            ids, request.left_out_count, 10.0, 100, 40, claims=(claim,),
        )  # fmt: skip
        return [result]

    fake.ask.side_effect = ask
    return answers_each(fake)


async def _to_synthesis(env: simcord.Env, table: Table, *, anonymous: bool = False) -> simcord.ChannelHandle:
    await table.admin.slash(
        table.deliberations, "deliberation start", question="A four-day week?", ai=True, anonymous=anonymous
    )
    thread = table.deliberations.threads[-1]
    await table.ada.slash(thread, "position", stance="Yes", reasoning=ADA_SAYS)
    await table.grace.slash(thread, "position", stance="No", reasoning=GRACE_SAYS)
    await env.advance_time(10 * 60 + 1)
    await table.admin.slash(thread, "deliberation advance")
    await table.grace.slash(thread, "object", what="Fridays go unanswered", why="Clients call on Fridays.")
    await env.advance_time(10 * 60 + 1)
    await table.admin.slash(thread, "deliberation advance")
    return thread


def _drafts(thread: simcord.ChannelHandle) -> list[discord.Embed]:
    return [
        m.embeds[0]
        for m in thread.history()
        if m.embeds and (m.embeds[0].title or "").startswith("Draft proposal") and m.embeds[0].author.name == SAGE_LABEL
    ]


async def test_a_draft_shows_its_quotes_and_what_it_leaves_unanswered(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread = await _to_synthesis(env, table)
    await table.admin.slash(thread, "summary draft")

    (embed,) = _drafts(thread)
    fields = {f.name: f.value for f in embed.fields}
    d = await bot.roundtable.get(table.guild.id, 1)
    ada = next(c for c in d.positions() if c.text == ADA_SAYS)
    (objection,) = d.objections.values()
    assert fields["Quoted from members"] == f'#{ada.id} **Ada**: "A four-day week keeps the best people here."'
    assert fields["Not addressed"] == f"#{objection.id} (**Grace**)"
    # The record keeps the citations.
    (draft,) = d.drafts()
    assert draft.ai_meta is not None
    assert draft.ai_meta["claims"][0]["cites"] == [
        {"id": ada.id, "quote": "A four-day week keeps the best people here."}
    ]


async def test_anonymous_deliberations_show_aliases_under_the_quotes(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread = await _to_synthesis(env, table, anonymous=True)
    await table.admin.slash(thread, "summary draft")

    (embed,) = _drafts(thread)
    fields = {f.name: f.value or "" for f in embed.fields}
    d = await bot.roundtable.get(table.guild.id, 1)
    ada_alias = d.participants[f"human:{table.ada.user.id}"].alias
    grace_alias = d.participants[f"human:{table.grace.user.id}"].alias
    assert f"**{ada_alias}**: " in fields["Quoted from members"]
    assert f"(**{grace_alias}**)" in fields["Not addressed"]
    assert "Ada" not in fields["Quoted from members"]
    assert "Grace" not in fields["Not addressed"]


async def test_a_refused_answer_is_a_labelled_notice_and_not_a_post(
    env: simcord.Env, table: Table, bot: RoundtableBot, ai_panel: Any
) -> None:
    thread = await _to_synthesis(env, table)
    ai_panel.answers.refuse = "ends mid-word"
    await table.admin.slash(thread, "summary draft")

    assert _drafts(thread) == []
    notices = [m.content for m in thread.history() if m.content.startswith("AI participant Sage")]
    assert notices == ["AI participant Sage gave no usable contribution (ends mid-word); the deliberation goes on."]
    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.drafts() == []
    assert [(name, reason) for name, reason, _, _ in d.ai_unavailable] == [
        ("Sage", "gave no usable contribution (ends mid-word)")
    ]


async def test_the_moderator_sees_what_a_draft_leaves_unaddressed_in_dissent_and_the_record_keeps_it(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread = await _to_synthesis(env, table)
    await table.admin.slash(thread, "summary draft")
    d = await bot.roundtable.get(table.guild.id, 1)
    (draft,) = d.drafts()
    (objection,) = d.objections.values()

    # Before putting the draft to the group, the moderator's /dissent panel lists it with what it leaves open.
    result = await table.admin.slash(thread, "dissent")
    await until(env, lambda: result.response is not None and result.response.attachments)
    assert result.response is not None
    panel = {f.name: f.value or "" for f in result.response.embeds[0].fields}
    assert panel["Drafts (1)"].startswith(f"**Draft #{draft.id}** by ")
    assert panel["Drafts (1)"].endswith(f" · Not addressed: #{objection.id} (**Grace**)")

    await table.admin.slash(thread, "summary adopt", draft=draft.id)
    result = await table.admin.slash(thread, "dissent")
    await until(env, lambda: result.response is not None and result.response.attachments)
    assert result.response is not None
    panel = {f.name: f.value or "" for f in result.response.embeds[0].fields}
    assert "(before the group)" in panel["Drafts (1)"]

    await env.advance_time(10 * 60 + 1)
    await advance(table.admin, thread)
    for member in (table.ada, table.grace):
        await member.slash(thread, "consent", choice="endorse")
    await env.advance_time(10 * 60 + 1)
    await advance(table.admin, thread)

    record, markdown = await record_of(last(thread, "Decision record #"))
    (drafted,) = [c for c in record["other_contributions"] if c["kind"] == "draft"]
    assert drafted["not_addressed"] == [{"id": objection.id, "kind": "objection", "author": "Grace"}]
    assert f"Not addressed: #{objection.id} (**Grace**)" in markdown
