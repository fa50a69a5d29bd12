"""Ranked drafts in Discord, end to end: the moderator opens a ranking, members rank privately in
select menus, the Schulze result is posted (ties as ties), nothing is adopted by the count, and a
forged menu or button changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
from deliberation_helpers import advance, event_count, last, sent_payloads
from discord_harness import Table

from bot.app import RoundtableBot
from bot.config import Settings
from bot.engine.model import Actor
from bot.exts._shared.errors import APOLOGY
from tests.fake_ai import fake_panel

PARTICIPANTS = [{"name": "Sage", "model": "smollm2-135m"}, {"name": "Muse", "model": "smollm2-135m"}]
MEMBERS = ("Ada", "Grace", "Linus")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": PARTICIPANTS},
    )


@pytest.fixture
def ai_panel(settings: Settings) -> Any:
    return fake_panel(settings.ai, lambda request: ("Either", f"A {request.task} to meet on Fridays."))


async def to_synthesis(env: simcord.Env, table: Table, *, anonymous: bool, drafts: int = 1) -> simcord.ChannelHandle:
    """An anonymous (or not) consent deliberation in its synthesis round with the AI drafts asked `drafts` times."""
    started = await table.admin.slash(
        table.deliberations, "deliberation start", question="Meet on Fridays?", template="consent", ai=True,
        anonymous=anonymous,
    )  # fmt: skip
    assert started.acknowledged
    thread = table.deliberations.threads[-1]
    for member, stance in ((table.ada, "Yes"), (table.grace, "No"), (table.linus, "Maybe")):
        await member.slash(thread, "position", stance=stance, reasoning="Because of the weekend.")
    for _ in range(2):
        await env.advance_time(10 * 60 + 1)
        await advance(table.admin, thread)
    for _ in range(drafts):
        await table.admin.slash(thread, "summary draft")
    return thread


def select_id(message: Any) -> str:
    (menu,) = [c for row in message.components for c in row["components"] if c["type"] == 3]
    return str(menu["custom_id"])


def options(message: Any) -> list[str]:
    (menu,) = [c for row in message.components for c in row["components"] if c["type"] == 3]
    return [o["value"] for o in menu["options"]]


def shown(result: Any) -> str:
    """The text a member sees after a step: the updated menu, or a new ephemeral answer."""
    texts = [m.content for m in [result.response, *result.followups] if m is not None]
    return "\n".join(texts)


async def rank(member: simcord.MemberActor, announcement: discord.Message, order: list[int]) -> str:
    """A member ranks through the menu, one place at a time, as they would in Discord."""
    menu = await member.click(announcement, label="Rank the drafts")
    assert menu.ephemeral
    message = menu.response
    assert message is not None
    result = None
    for draft in order:
        result = await member.select(message, [str(draft)], custom_id=select_id(message))
        assert result.response is not None
        message = result.response
        if not any(c["type"] == 3 for row in message.components for c in row["components"]):
            break
    assert result is not None
    return shown(result)


async def test_members_rank_privately_and_the_group_preference_is_only_a_proposal(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread = await to_synthesis(env, table, anonymous=True)
    d = await bot.roundtable.get(table.guild.id, 1)
    a, b = (c.id for c in d.drafts())

    refused = await table.ada.slash(thread, "summary rank")
    assert refused.response is not None
    assert refused.response.content == "Only moderators can do that."
    opened = await table.admin.slash(thread, "summary rank")
    assert opened.response is not None
    assert opened.ephemeral
    assert opened.response.content.startswith(f"Ranking #1 of drafts #{a} and #{b} is open")
    announcement = last(thread, "Rank the drafts")
    assert announcement.embeds[0].title == "Rank the drafts (ranking #1)"

    # Ada ranks b first, then changes her mind: only her latest ballot counts.
    assert f"stored: 1st #{b}, 2nd #{a}" in await rank(table.ada, announcement, [b])
    again = await table.ada.click(announcement, label="Rank the drafts")
    assert again.response is not None
    assert f"Your ballot now: 1st #{b}, 2nd #{a}." in again.response.content
    assert options(again.response) == [str(a), str(b)]
    assert f"stored: 1st #{a}, 2nd #{b}" in await rank(table.ada, announcement, [a])
    assert f"stored: 1st #{b}, 2nd #{a}" in await rank(table.grace, announcement, [b])
    assert f"stored: 1st #{a}, 2nd #{b}" in await rank(table.linus, announcement, [a])
    refreshed = next(m for m in thread.history() if m.id == announcement.id)
    assert {f.name: f.value for f in refreshed.embeds[0].fields}["Ballots so far"] == "3"

    status = await table.ada.slash(thread, "deliberation status")
    assert status.response is not None
    assert {f.name: f.value for f in status.response.embeds[0].fields}["Ranking #1 open"] == "3 ballot(s)"
    closed = await table.admin.slash(thread, "summary rank", close=True)
    assert closed.response is not None
    assert closed.response.content.startswith("Ranking #1 is closed with 3 ballot(s)")
    result = last(thread, "Ranking #1 of the drafts: result")
    assert result.embeds[0].description == (
        f"The members' ballots prefer draft #{a}. Counted by the Schulze method over 3 member ballot(s)."
    )
    head = {f.name: f.value for f in result.embeds[0].fields}["Head to head (ballots)"]
    assert head == f"#{a} over #{b}: 2; #{b} over #{a}: 1"
    # The count adopts nothing: the moderator still puts the proposal.
    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.proposal is None
    refreshed = next(m for m in thread.history() if m.id == announcement.id)
    assert not _has_button(refreshed)  # the announcement loses its button once closed
    assert "3 ballot(s)" in {f.name: f.value for f in refreshed.embeds[0].fields}["Closed"]

    await table.admin.slash(thread, "summary adopt", draft=a)
    await advance(table.admin, thread, force=True)
    for member in (table.ada, table.grace, table.linus):
        await member.slash(thread, "consent", choice="endorse")
    await advance(table.admin, thread, force=True)
    stored = await bot.roundtable.record(table.guild.id, 1)
    (ranking,) = stored.record["rankings"]
    assert ranking["ballots"] == 3
    assert ranking["drafts"] == [a, b]
    assert ranking["preferences"] == [[0, 2], [1, 0]]
    assert ranking["winners"] == [a]
    assert "Rankings of drafts" in stored.markdown
    sealed = last(thread, "Decision record #1")
    shown_fields = {f.name: f.value for f in sealed.embeds[0].fields}
    assert (
        shown_fields["Ranked drafts (members' ballots, Schulze)"] == f"Ranking #1: 3 ballot(s); preferred draft #{a}."
    )

    # Anonymous: no member's name in anything the bot sent, ballots and results included.
    for body in sent_payloads(env):
        text = json.dumps(body, ensure_ascii=False)
        for name in MEMBERS:
            assert name not in text, body


def _has_button(message: discord.Message) -> bool:
    rows = [row for row in message.components if isinstance(row, discord.ActionRow)]
    return any(getattr(c, "label", None) == "Rank the drafts" for row in rows for c in row.children)


async def test_a_tie_is_said_as_a_tie_when_the_round_closes(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    thread = await to_synthesis(env, table, anonymous=False)
    d = await bot.roundtable.get(table.guild.id, 1)
    a, b = (c.id for c in d.drafts())
    await table.admin.slash(thread, "summary rank")
    announcement = last(thread, "Rank the drafts")
    await rank(table.ada, announcement, [a])
    await rank(table.grace, announcement, [b])
    await env.advance_time(60 * 60)  # the synthesis round's deadline closes the ranking with it
    result = last(thread, "Ranking #1 of the drafts: result")
    assert result.embeds[0].description == (
        f"Tie: drafts #{a} and #{b} are preferred equally; no draft beats the others. "
        "Counted by the Schulze method over 2 member ballot(s)."
    )
    assert "The synthesis round has closed" in {f.name: f.value for f in result.embeds[0].fields}["What next"]


async def test_observers_and_late_menus_cannot_rank_and_a_restart_keeps_a_half_built_ballot(
    env: simcord.Env, table: Table, bot: RoundtableBot, restart: Any
) -> None:
    thread = await to_synthesis(env, table, anonymous=False, drafts=2)
    d = await bot.roundtable.get(table.guild.id, 1)
    ids = [c.id for c in d.drafts()]
    assert len(ids) == 4
    await table.moderator.slash(thread, "deliberation join", **{"as": "observer"})
    await table.admin.slash(thread, "summary rank", drafts=f"{ids[0]} {ids[1]} {ids[2]}")
    announcement = last(thread, "Rank the drafts")

    watching = await table.moderator.click(announcement, label="Rank the drafts")
    assert watching.response is not None
    assert watching.response.content == "You are observing this deliberation, so you cannot rank drafts."

    menu = await table.ada.click(announcement, label="Rank the drafts")
    assert menu.response is not None
    assert options(menu.response) == [str(i) for i in ids[:3]]  # the late fourth draft is not in this ranking
    step = await table.ada.select(menu.response, [str(ids[2])], custom_id=select_id(menu.response))
    assert step.response is not None
    assert "Ranked so far: 1st #" in step.response.content
    assert options(step.response) == [str(ids[0]), str(ids[1])]
    before = await event_count(bot, table, 1)
    assert before == await event_count(bot, table, 1)  # nothing stored for a half-built ballot

    bot = await restart()
    done = await table.ada.select(step.response, [str(ids[0])], custom_id=select_id(step.response))
    assert f"stored: 1st #{ids[2]}, 2nd #{ids[0]}, 3rd #{ids[1]}" in shown(done)
    d = await bot.roundtable.get(table.guild.id, 1)
    assert d.ranking(1).ballots == {Actor.human(table.ada.id).key: (ids[2], ids[0], ids[1])}

    # Keep after the first place: the rest rank below, tied.
    menu = await table.grace.click(announcement, label="Rank the drafts")
    assert menu.response is not None
    step = await table.grace.select(menu.response, [str(ids[1])], custom_id=select_id(menu.response))
    assert step.response is not None
    kept = await table.grace.click(step.response, label="Keep this ranking")
    assert f"stored: 1st #{ids[1]}. Drafts #{ids[0]} and #{ids[2]} rank below these, tied." in shown(kept)

    # A menu opened before the ranking closed refuses once it has.
    stale = await table.linus.click(announcement, label="Rank the drafts")
    assert stale.response is not None
    await table.admin.slash(thread, "summary rank", close=True)
    before = await event_count(bot, table, 1)
    late = await table.linus.select(stale.response, [str(ids[0])], custom_id=select_id(stale.response))
    assert "closed" in shown(late)
    assert await event_count(bot, table, 1) == before


def _forged(env: simcord.Env, where: simcord.ChannelHandle, component: dict[str, Any]) -> discord.Message:
    """A message the bot could have posted, carrying one component."""
    assert env.bot.user is not None
    stored = env.backend.create_message(
        where.id, env.bot.user.id, "", components=[{"type": 1, "components": [component]}]
    )
    return next(m for m in where.history() if m.id == stored.id)


@pytest.mark.parametrize(
    ("custom_id", "value"),
    [
        ("rt:rankp:{mine}:1:", "999"),  # no such draft
        ("rt:rankp:{mine}:1:", "{position}"),  # a position, not a draft
        ("rt:rankp:{mine}:1:", "{late}"),  # a draft, but not in this ranking
        ("rt:rankp:{mine}:1:{a}", "{a}"),  # the same draft twice
        ("rt:rankp:{mine}:1:999.{a}", "{b}"),  # a forged place already chosen
        ("rt:rankp:{mine}:2:", "{a}"),  # no ranking #2
        ("rt:rankp:{other}:1:", "{a}"),  # another guild's deliberation
        ("rt:rankp:{mine}:1:", "x"),  # not a number
        ("rt:rankb:{mine}:1:{late}", None),
        ("rt:rankb:{mine}:1:{a}.{a}", None),
        ("rt:rankb:{other}:1:{a}", None),
        ("rt:rank:{other}:1", None),
        ("rt:rank:{mine}:7", None),
    ],
)
async def test_a_forged_ballot_is_refused_and_changes_nothing(
    env: simcord.Env, table: Table, bot: RoundtableBot, custom_id: str, value: str | None
) -> None:
    thread = await to_synthesis(env, table, anonymous=False, drafts=1)
    d = await bot.roundtable.get(table.guild.id, 1)
    a, b = (c.id for c in d.drafts())
    await table.admin.slash(thread, "summary rank")
    await table.admin.slash(thread, "summary draft")  # a late draft, outside ranking #1
    d = await bot.roundtable.get(table.guild.id, 1)
    late = d.drafts()[-1].id
    elsewhere = env.create_guild("Elsewhere")
    stranger = elsewhere.add_member(env.create_user("Stranger"), roles=[])
    channel = elsewhere.create_text_channel("deliberations")
    other = (await bot.roundtable.start(elsewhere.id, channel.id, Actor.human(stranger.id), "Theirs?")).deliberation
    names = {"mine": 1, "other": other.id, "a": a, "b": b, "late": late, "position": d.positions()[0].id}
    before = await event_count(bot, table, 1)
    before_other = len(await bot.roundtable.store.load_events(elsewhere.id, other.id))

    cid = custom_id.format(**names)
    if value is None:
        message = _forged(env, thread, {"type": 2, "style": 2, "label": "Forged", "custom_id": cid})
        result = await table.ada.click(message, label="Forged")
    else:
        option = {"label": "Forged", "value": value.format(**names)}
        message = _forged(env, thread, {"type": 3, "custom_id": cid, "options": [option]})
        result = await table.ada.select(message, [option["value"]], custom_id=cid)

    assert result.ephemeral
    assert shown(result)
    assert shown(result) != APOLOGY
    assert await event_count(bot, table, 1) == before
    assert len(await bot.roundtable.store.load_events(elsewhere.id, other.id)) == before_other
    assert (await bot.roundtable.get(table.guild.id, 1)).ranking(1).ballots == {}
