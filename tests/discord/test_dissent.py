"""The moderator's `/dissent` panel and the dissent map at the end of the dissent round (issue 5)."""

from __future__ import annotations

import struct

import discord
import simcord
from deliberation_helpers import advance
from discord_harness import Table
from service_flows import human, until

from bot.app import RoundtableBot
from bot.engine import Role, Vote

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def open_dissent_round(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    positions: list[tuple[simcord.MemberActor, str, str]],
    *,
    anonymous: bool = False,
) -> tuple[simcord.ChannelHandle, int]:
    """A consent deliberation started, positions stated and the dissent round open, all by command."""
    started = await table.admin.slash(
        table.deliberations,
        "deliberation start",
        question="Move to a four-day week?",
        template="consent",
        round_minutes=60,
        anonymous=anonymous,
        ai=False,
    )
    assert started.acknowledged
    thread = table.deliberations.threads[-1]
    (row,) = await bot.roundtable.store.deliberations(table.guild.id, status="open", limit=1)
    for member, stance, reasoning in positions:
        await member.slash(thread, "position", stance=stance, reasoning=reasoning)
    advanced = await advance(table.admin, thread, force=True)
    assert advanced.response is not None
    assert advanced.response.content == "Round 1 closed; the dissent round is open."
    return thread, row.id


async def plant_votes(
    bot: RoundtableBot, guild_id: int, deliberation_id: int, votes: dict[simcord.MemberActor, dict[int, Vote]]
) -> None:
    d = await bot.roundtable.get(guild_id, deliberation_id)
    for member, choices in votes.items():
        for statement, vote in choices.items():
            if d.contributions[statement].author == human(member).key:
                continue  # a member's own words take no vote from them
            await bot.roundtable.act(
                guild_id, deliberation_id, lambda d, at, m=member, s=statement, v=vote: d.vote(human(m), s, v, at)
            )


def members(env: simcord.Env, table: Table, n: int) -> list[simcord.MemberActor]:
    return [table.guild.add_member(env.create_user(f"Member {i}")) for i in range(n)]


async def two_camps(env: simcord.Env, table: Table, bot: RoundtableBot) -> tuple[simcord.ChannelHandle, int]:
    """Eight voters in two planted camps over six statements; statement #6 unites everyone."""
    extra = members(env, table, 5)
    thread, did = await open_dissent_round(
        env,
        table,
        bot,
        [
            (table.ada, "Yes", "Productivity rises with rest."),
            (table.grace, "No", "Clients expect us five days. @everyone"),
            (table.linus, "Yes, trial", "Try it for a quarter."),
            (extra[0], "No", "Coverage gaps on Fridays."),
        ],
    )
    await table.ada.slash(thread, "statement", text="Meetings should be shorter either way.")
    await table.grace.slash(thread, "statement", text="Overtime would creep back in.")
    await table.grace.slash(thread, "object", what="The survey was skipped", why="We never asked the night shift.")
    d = await bot.roundtable.get(table.guild.id, did)
    ids = sorted(c.id for c in d.statements())
    assert len(ids) == 6
    uniting = next(c.id for c in d.statements() if c.text.startswith("Meetings"))
    split = [i for i in ids if i != uniting]
    camp_a = [table.ada, table.linus, extra[1], extra[2]]
    camp_b = [table.grace, extra[0], extra[3], extra[4]]
    votes: dict[simcord.MemberActor, dict[int, Vote]] = {}
    for n, member in enumerate(camp_a + camp_b):
        first = member in camp_a
        choice = {s: (Vote.AGREE if (k % 2 == 0) == first else Vote.DISAGREE) for k, s in enumerate(split)}
        # One pass each so the counts are not perfectly symmetric.
        if n in (1, 6):
            choice[split[-1]] = Vote.PASS
        choice[uniting] = Vote.AGREE
        votes[member] = choice
    await plant_votes(bot, table.guild.id, did, votes)
    # Joined but silent: the panel names them.
    quiet = table.guild.add_member(env.create_user("Quiet"))
    await bot.roundtable.act(table.guild.id, did, lambda d, at: d.join(human(quiet), Role.PARTICIPANT, at))
    return thread, did


async def test_the_panel_shows_objections_the_silent_what_divides_and_planted_groups(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread, did = await two_camps(env, table, bot)

    result = await table.admin.slash(thread, "dissent")
    await until(env, lambda: result.response is not None and result.response.attachments)

    assert result.ephemeral
    assert result.response is not None
    panel, dissent_map, chart = result.response.embeds
    assert panel.title == f"Dissent panel · deliberation #{did}"
    fields = {f.name: f.value or "" for f in panel.fields}
    assert fields["Not yet spoken (1)"] == "Quiet"

    fields = {f.name: f.value or "" for f in dissent_map.fields}
    objections = fields["Open objections (1)"]
    assert "Objection" in objections
    assert "by **Grace**" in objections
    assert "The survey was skipped" in objections
    assert "We never asked the night shift." in objections
    assert "Meetings should be shorter either way." in fields["Statements that unite"]
    assert "by Ada" in fields["Statements that unite"]
    divide = fields["Statements that divide"]
    assert divide.count("**#") == 3
    assert "Meetings should be shorter" not in divide
    assert fields["Opinion groups"].startswith("2 groups among 8 members")
    groups = [name for name in fields if name.startswith("Group ")]
    assert groups == ["Group A · 4 member(s)", "Group B · 4 member(s)"]
    assert all("% agree with" in fields[g] or "% disagree with" in fields[g] for g in groups)
    assert dissent_map.image.url == "attachment://opinion-map.png"
    assert chart.image.url == "attachment://consent-chart.png"
    assert sum(len(e) for e in result.response.embeds) <= 6000

    files = {a.filename: await a.read() for a in result.response.attachments}
    assert set(files) == {"opinion-map.png", "consent-chart.png"}
    for data in files.values():
        assert png_size(data) == (800, 500)
        assert len(data) > 10_000
    # Only the moderator sees it; the text repeated (`@everyone`) pings no one.
    assert result.response.id not in {m.id for m in thread.history(viewer=table.grace)}


async def test_too_few_voters_says_so_instead_of_groups(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    # Linus and the moderator's positions; Ada and Grace vote on them (a member's own words take
    # no vote from them), two voters: too few for groups.
    thread, did = await open_dissent_round(
        env, table, bot, [(table.linus, "Yes", "Rest helps."), (table.moderator, "No", "Clients.")]
    )
    d = await bot.roundtable.get(table.guild.id, did)
    first, second = sorted(c.id for c in d.statements())
    await plant_votes(
        bot,
        table.guild.id,
        did,
        {
            table.ada: {first: Vote.AGREE, second: Vote.DISAGREE},
            table.grace: {first: Vote.DISAGREE, second: Vote.AGREE},
        },
    )

    result = await table.admin.slash(thread, "dissent")
    await until(env, lambda: result.response is not None and result.response.attachments)

    assert result.response is not None
    fields = {f.name: f.value or "" for f in result.response.embeds[1].fields}
    assert fields["Opinion groups"].startswith("Too few votes for opinion groups: too few participants to cluster: 2")
    assert "min(7, number of statements)" in fields["Opinion groups"]
    assert not any(name.startswith("Group ") for name in fields)
    # Without groups, what divides comes from the plain counts.
    assert "Rest helps." in fields["Statements that divide (by vote counts)"]
    assert {a.filename for a in result.response.attachments} == {"opinion-map.png", "consent-chart.png"}


async def test_a_member_who_is_not_a_moderator_is_refused(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    thread, _ = await open_dissent_round(env, table, bot, [(table.ada, "Yes", "Rest helps.")])
    result = await table.ada.slash(thread, "dissent")
    assert result.ephemeral
    assert result.response is not None
    assert result.response.content == "Only moderators can do that."
    assert not result.response.attachments


async def test_the_map_is_posted_when_the_dissent_round_closes_by_deadline(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    thread, did = await two_camps(env, table, bot)
    before = len(list(thread.history()))

    await env.advance_time(60 * 60 + 1)  # the dissent round's deadline passes

    def posted() -> list[discord.Message]:
        return [
            m
            for m in list(thread.history())[before:]
            if m.embeds and m.embeds[0].title and m.embeds[0].title.startswith("Dissent map")
        ]

    await until(env, posted)
    (message,) = posted()
    assert message.embeds[0].title == f"Dissent map · end of the dissent round · deliberation #{did}"
    assert not message.flags.ephemeral
    names = {f.name for f in message.embeds[0].fields}
    assert {"Group A · 4 member(s)", "Group B · 4 member(s)"} <= names
    assert sorted(a.filename for a in message.attachments) == ["consent-chart.png", "opinion-map.png"]
    for attachment in message.attachments:
        assert png_size(await attachment.read()) == (800, 500)
    d = await bot.roundtable.get(table.guild.id, did)
    assert d.round.kind.value == "synthesis"


async def test_an_anonymous_map_shows_aliases_only(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    thread, did = await open_dissent_round(
        env, table, bot, [(table.ada, "Yes", "Rest helps."), (table.grace, "No", "Clients.")], anonymous=True
    )
    await table.grace.slash(thread, "object", what="Too fast", why="No trial period.")
    d = await bot.roundtable.get(table.guild.id, did)
    ada_says, grace_says = sorted(c.id for c in d.statements())
    await plant_votes(
        bot,
        table.guild.id,
        did,
        {
            table.ada: {grace_says: Vote.DISAGREE},
            table.grace: {ada_says: Vote.AGREE},
            table.linus: {ada_says: Vote.DISAGREE},
        },
    )
    before = len(list(thread.history()))

    await advance(table.admin, thread, force=True)

    def maps() -> list[discord.Message]:
        return [
            m
            for m in list(thread.history())[before:]
            if m.embeds and (m.embeds[0].title or "").startswith("Dissent map")
        ]

    await until(env, maps)
    text = str([e.to_dict() for e in maps()[0].embeds])
    assert "Participant 1" in text
    assert "Participant 2" in text
    assert "Ada" not in text
    assert "Grace" not in text
