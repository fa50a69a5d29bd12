"""Where a deliberation's posts go, and how contributions and objections look there.

Every feature posts member and AI text through here, so it is always rendered the same way:
anonymised per the deliberation's settings, AI contributions unmistakably labelled (principle
1), and never able to ping anyone (`AllowedMentions.none()`).

Posts are saved with `store.save_post(guild, deliberation, ref, channel, message)` under refs
`c:<contribution id>` and `o:<objection id>`, so an edit, a vote or a status change can update
the embed in place with `refresh_post`.

Buttons on posts are plain components whose custom ids follow the templates below; the
`DynamicItem`s that answer them are registered by the feature packages (`contributions`), so
they keep working after a restart and this module imports no feature.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.engine import coverage
from bot.engine.deliberation import Deliberation
from bot.engine.model import ConsentChoice, Contribution, ContributionKind, Objection, ObjectionStatus, Vote
from bot.engine.record import ai_label
from bot.exts._shared.messages import NO_MENTIONS, safe_send

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.service import Change

log = logging.getLogger(__name__)

HUMAN_COLOUR = discord.Colour.blurple()
STATEMENT_COLOUR = discord.Colour.teal()
# AI participants: a colour no member post uses, plus the label as the embed's author line.
AI_COLOUR = discord.Colour.from_rgb(155, 89, 182)
OBJECTION_COLOURS: dict[ObjectionStatus, discord.Colour] = {
    ObjectionStatus.OPEN: discord.Colour.red(),
    ObjectionStatus.ADDRESSED: discord.Colour.green(),
    ObjectionStatus.WITHDRAWN: discord.Colour.light_grey(),
    ObjectionStatus.STANDING: discord.Colour.dark_red(),
}

# Custom id templates (the DynamicItems in `bot.exts.contributions` and `bot.exts.deliberation`
# match them; each carries every id its handler needs, so buttons survive a restart).
POSITION_ID = "rt:pos:{deliberation}"
RAISE_ID = "rt:raise:{deliberation}"
STATEMENT_ID = "rt:stmt:{deliberation}"
REMIND_ID = "rt:remind:{deliberation}"
CONSENT_ID = "rt:consent:{deliberation}:{choice}"
CONSENT_CODES: dict[ConsentChoice, str] = {
    ConsentChoice.ENDORSE: "e",
    ConsentChoice.RESERVATIONS: "r",
    ConsentChoice.STAND_ASIDE: "s",
    ConsentChoice.BLOCK: "b",
}
VOTE_ID = "rt:vote:{deliberation}:{statement}:{vote}"
VOTE_CODES: dict[Vote, str] = {Vote.AGREE: "a", Vote.DISAGREE: "d", Vote.PASS: "p"}
OBJECTION_ID = "rt:obj:{deliberation}:{objection}:{action}"
# w: withdraw (author), a: mark addressed (moderator), r: reopen (author)
OBJECTION_ACTIONS: dict[str, ObjectionStatus] = {
    "w": ObjectionStatus.WITHDRAWN,
    "a": ObjectionStatus.ADDRESSED,
    "r": ObjectionStatus.OPEN,
}

_TITLES: dict[ContributionKind, str] = {
    ContributionKind.POSITION: "Position",
    ContributionKind.STATEMENT: "Statement",
    ContributionKind.RESPONSE: "Response",
    ContributionKind.CRITIQUE: "Critique",
    ContributionKind.DRAFT: "Draft proposal",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def contribution_ref(contribution_id: int) -> str:
    return f"c:{contribution_id}"


def objection_ref(objection_id: int) -> str:
    return f"o:{objection_id}"


# ---------------------------------------------------------------------- channels


async def deliberation_channel(bot: RoundtableBot, guild_id: int, deliberation_id: int) -> discord.abc.Messageable:
    """The deliberation's thread, or its channel when it runs in the channel itself."""
    row = await bot.roundtable.store.deliberation(guild_id, deliberation_id)
    target = row.thread_id or row.channel_id
    if target is None:
        raise LookupError(f"deliberation {deliberation_id} has no channel yet")
    channel = bot.get_channel(target)
    if channel is None:
        channel = await bot.fetch_channel(target)
    assert isinstance(channel, discord.abc.Messageable)
    return channel


# ---------------------------------------------------------------------- embeds


def author_line(d: Deliberation, key: str) -> str:
    """Who wrote something, as shown in Discord: an AI label, an alias, or a display name."""
    p = d.participant(key)
    if p is not None and not p.is_human:
        return ai_label(p.name, p.model or "unknown model")
    return d.display_name(key)


def tally_text(d: Deliberation, statement_id: int) -> str:
    votes = d.tally(statement_id)
    return f"Agree {votes[Vote.AGREE]} · Disagree {votes[Vote.DISAGREE]} · Pass {votes[Vote.PASS]}"


def contribution_embed(d: Deliberation, c: Contribution) -> discord.Embed:
    """A position, statement, response, critique or draft, human or AI."""
    title = f"{_TITLES[c.kind]} #{c.id}"
    if c.kind is ContributionKind.RESPONSE and c.reply_to is not None:
        title += f" (reply to #{c.reply_to})"
    if c.kind is ContributionKind.CRITIQUE and c.reply_to is not None:
        title += f" (on draft #{c.reply_to})"
    if c.stance:
        title += f": {c.stance}"
    if c.by_ai:
        colour = AI_COLOUR
    elif c.kind is ContributionKind.STATEMENT:
        colour = STATEMENT_COLOUR
    else:
        colour = HUMAN_COLOUR
    embed = discord.Embed(
        title=_clip(title, 256), description=_clip(c.text, 4096), colour=colour, timestamp=c.updated_at or c.at
    )
    embed.set_author(name=_clip(author_line(d, c.author), 256))
    if c.kind in (ContributionKind.POSITION, ContributionKind.STATEMENT):
        embed.add_field(name="Votes", value=tally_text(d, c.id), inline=False)
    if c.answers:
        embed.add_field(name="Answers", value=", ".join(f"#{i}" for i in c.answers), inline=False)
    # An AI's claims rest on members' own words, each quote checked before posting: show them.
    cited = "\n".join(f'#{s.id} {s.author}: "{s.quote}"' for s in coverage.sources(d, c))
    if cited:
        embed.add_field(name="Quoted from members", value=_clip(cited, 1024), inline=False)
    if c.kind is ContributionKind.DRAFT and (left := coverage.not_addressed_text(coverage.unaddressed(d, c.id))):
        embed.add_field(name="Not addressed", value=_clip(left, 1024), inline=False)
    footer = [f"Deliberation #{d.id}"]
    if c.history:
        footer.append(f"edited {len(c.history)} time{'s' if len(c.history) != 1 else ''}")
    if c.by_ai:
        footer.append("written by an AI; never counted in tallies, quorum or the outcome")
        if c.kind is ContributionKind.DRAFT:
            footer.append("a proposal only, until the moderator adopts it")
    embed.set_footer(text=" · ".join(footer))
    return embed


def objection_embed(d: Deliberation, o: Objection) -> discord.Embed:
    kind = "Block" if o.from_block else "Objection"
    title = f"{kind} #{o.id}" + (f" (on #{o.target})" if o.target is not None else "")
    embed = discord.Embed(title=title, colour=OBJECTION_COLOURS[o.status], timestamp=o.at)
    embed.set_author(name=_clip(author_line(d, o.author), 256))
    embed.add_field(name="What", value=_clip(o.what, 1024), inline=False)
    embed.add_field(name="Why", value=_clip(o.why, 1024), inline=False)
    embed.add_field(name="Status", value=o.status.value, inline=True)
    embed.set_footer(text=f"Deliberation #{d.id}")
    return embed


# ---------------------------------------------------------------------- components


def components(items: list[discord.ui.Button[Any]]) -> discord.ui.View | None:
    """A view carrying only components: the registered DynamicItems answer the clicks.

    Stopped before sending so discord.py does not also store it (a stopped view is not kept),
    which would dispatch each click twice.
    """
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view


def vote_buttons(d: Deliberation, statement_id: int) -> list[discord.ui.Button[Any]]:
    styles = {
        Vote.AGREE: discord.ButtonStyle.success,
        Vote.DISAGREE: discord.ButtonStyle.danger,
        Vote.PASS: discord.ButtonStyle.secondary,
    }
    return [
        discord.ui.Button(
            label=vote.value.capitalize(),
            style=styles[vote],
            custom_id=VOTE_ID.format(deliberation=d.id, statement=statement_id, vote=VOTE_CODES[vote]),
        )
        for vote in Vote
    ]


def objection_buttons(d: Deliberation, o: Objection) -> list[discord.ui.Button[Any]]:
    if not d.is_open:
        return []
    wanted: list[tuple[str, str, discord.ButtonStyle]] = []
    if o.status in (ObjectionStatus.OPEN, ObjectionStatus.ADDRESSED) and not o.from_block:
        wanted.append(("w", "Withdraw", discord.ButtonStyle.secondary))
    if o.status is ObjectionStatus.OPEN:
        wanted.append(("a", "Mark addressed", discord.ButtonStyle.success))
    if o.status is ObjectionStatus.ADDRESSED:
        wanted.append(("r", "Reopen", discord.ButtonStyle.danger))
    return [
        discord.ui.Button(
            label=label, style=style, custom_id=OBJECTION_ID.format(deliberation=d.id, objection=o.id, action=code)
        )
        for code, label, style in wanted
    ]


def contribution_view(d: Deliberation, c: Contribution) -> discord.ui.View | None:
    if d.is_open and c.kind in (ContributionKind.POSITION, ContributionKind.STATEMENT):
        return components(vote_buttons(d, c.id))
    return None


# ---------------------------------------------------------------------- posting


async def _post_and_remember(
    bot: RoundtableBot,
    guild_id: int,
    deliberation: Deliberation,
    ref: str,
    embed: discord.Embed,
    view: discord.ui.View | None,
) -> discord.Message:
    """Send an embed in the deliberation and store where it went, so later changes can edit it."""
    channel = await deliberation_channel(bot, guild_id, deliberation.id)
    kwargs: dict[str, Any] = {"embed": embed}
    if view is not None:
        kwargs["view"] = view
    message = await safe_send(channel, **kwargs)
    await bot.roundtable.store.save_post(guild_id, deliberation.id, ref, message.channel.id, message.id)
    return message


async def post_contribution(
    bot: RoundtableBot, guild_id: int, deliberation: Deliberation, contribution_id: int
) -> discord.Message:
    """Post a contribution's embed in the deliberation and remember where it is."""
    c = deliberation.contributions[contribution_id]
    return await _post_and_remember(
        bot,
        guild_id,
        deliberation,
        contribution_ref(c.id),
        contribution_embed(deliberation, c),
        contribution_view(deliberation, c),
    )


async def post_objection(
    bot: RoundtableBot, guild_id: int, deliberation: Deliberation, objection_id: int
) -> discord.Message:
    """Post an objection (or a block's objection) with its status and buttons."""
    o = deliberation.objections[objection_id]
    return await _post_and_remember(
        bot,
        guild_id,
        deliberation,
        objection_ref(o.id),
        objection_embed(deliberation, o),
        components(objection_buttons(deliberation, o)),
    )


async def post_added(bot: RoundtableBot, guild_id: int, deliberation: Deliberation, ids: list[int]) -> None:
    """Post every contribution and objection a change added, in order."""
    for item_id in ids:
        if item_id in deliberation.contributions:
            await post_contribution(bot, guild_id, deliberation, item_id)
        elif item_id in deliberation.objections:
            await post_objection(bot, guild_id, deliberation, item_id)


async def show_change(bot: RoundtableBot, guild_id: int, change: Change) -> None:
    """Post what a change added and refresh the posts it touched (an edit, a vote, a status)."""
    d = change.deliberation
    await post_added(bot, guild_id, d, change.added())
    touched: list[int] = []
    for e in change.events:
        if e.kind in ("contribution.edited", "objection.moved"):
            touched.append(e.payload["id"])
        elif e.kind == "vote.cast":
            touched.append(e.payload["statement"])
    added = set(change.added())
    for item_id in dict.fromkeys(touched):
        if item_id not in added:
            await refresh_post(bot, guild_id, d, item_id)


async def refresh_post(bot: RoundtableBot, guild_id: int, deliberation: Deliberation, item_id: int) -> bool:
    """Edit a posted contribution or objection to show its current state. False if never posted."""
    if item_id in deliberation.contributions:
        ref = contribution_ref(item_id)
        c = deliberation.contributions[item_id]
        embed = contribution_embed(deliberation, c)
        view = contribution_view(deliberation, c)
    elif item_id in deliberation.objections:
        ref = objection_ref(item_id)
        o = deliberation.objections[item_id]
        embed = objection_embed(deliberation, o)
        view = components(objection_buttons(deliberation, o))
    else:
        return False
    where = await bot.roundtable.store.post(guild_id, deliberation.id, ref)
    if where is None:
        return False
    channel_id, message_id = where
    channel = bot.get_channel(channel_id)
    if channel is None:
        channel = await bot.fetch_channel(channel_id)
    assert isinstance(channel, (discord.TextChannel, discord.Thread))
    try:
        await channel.get_partial_message(message_id).edit(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
    except discord.NotFound:
        log.info("Post %s of deliberation %s is gone; not refreshed", ref, deliberation.id)
        return False
    return True


__all__ = [
    "AI_COLOUR",
    "CONSENT_CODES",
    "CONSENT_ID",
    "HUMAN_COLOUR",
    "OBJECTION_ACTIONS",
    "OBJECTION_ID",
    "POSITION_ID",
    "RAISE_ID",
    "REMIND_ID",
    "STATEMENT_ID",
    "VOTE_CODES",
    "VOTE_ID",
    "author_line",
    "components",
    "contribution_embed",
    "deliberation_channel",
    "objection_embed",
    "post_added",
    "post_contribution",
    "post_objection",
    "refresh_post",
    "show_change",
    "tally_text",
]
