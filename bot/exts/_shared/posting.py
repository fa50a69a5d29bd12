"""Where a deliberation's posts go, and how contributions and objections look there.

Every feature posts member and AI text through here, so it is always rendered the same way:
anonymised per the deliberation's settings, AI contributions unmistakably labelled (principle
1), and never able to ping anyone (`AllowedMentions.none()`).

New posts are owed in the outbox and made by its courier (`bot.exts._shared.outbox`), which
remembers each one under its ref (`c:<contribution id>`, `o:<objection id>`), so an edit, a
vote or a status change can update the embed in place with `refresh_post`.

Buttons on posts are `bot.exts._shared.buttons` classes, which own their ids and looks; the
feature packages (`contributions`) register the subclasses that answer them, so they keep
working after a restart and this module imports no feature.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

import discord

from bot.engine import coverage
from bot.engine.deliberation import Deliberation
from bot.engine.model import ACCEPTS, Contribution, ContributionKind, Objection, ObjectionStatus, Vote
from bot.exts._shared.buttons import ObjectionButton, PersistentButton, RespondButton, VoteButton, components
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
    target = await bot.roundtable.channel_of(guild_id, deliberation_id)
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
    return d.shown_as(key)


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


def vote_buttons(d: Deliberation, statement_id: int) -> list[PersistentButton]:
    return [VoteButton(d.id, statement_id, vote) for vote in Vote]


def objection_buttons(d: Deliberation, o: Objection) -> list[PersistentButton]:
    """What can happen to an objection now: withdraw or reopen (its author), mark addressed (the moderator)."""
    if not d.is_open:
        return []
    actions = []
    if o.status in (ObjectionStatus.OPEN, ObjectionStatus.ADDRESSED) and not o.from_block:
        actions.append("w")
    if o.status is ObjectionStatus.OPEN:
        actions.append("a")
    if o.status is ObjectionStatus.ADDRESSED:
        actions.append("r")
    live = o.status in (ObjectionStatus.OPEN, ObjectionStatus.ADDRESSED)
    respond: list[PersistentButton] = [RespondButton(d.id, o.id)] if live and _responds(d) else []
    return [*(ObjectionButton(d.id, o.id, action) for action in actions), *respond]


def _responds(d: Deliberation) -> bool:
    """Does this deliberation still take responses (in its current round or a later one)?"""
    return d.is_open and any("response" in ACCEPTS[r.kind] for r in d.rounds[d.current :])


def contribution_view(d: Deliberation, c: Contribution) -> discord.ui.View | None:
    items: list[PersistentButton] = []
    if d.is_open and c.kind in (ContributionKind.POSITION, ContributionKind.STATEMENT):
        items += vote_buttons(d, c.id)
    if _responds(d) and c.kind in (ContributionKind.POSITION, ContributionKind.STATEMENT, ContributionKind.RESPONSE):
        items.append(RespondButton(d.id, c.id))
    return components(items)


# ---------------------------------------------------------------------- posting


async def _post(
    bot: RoundtableBot,
    guild_id: int,
    deliberation: Deliberation,
    embed: discord.Embed,
    view: discord.ui.View | None,
    *,
    reply_to: tuple[int, int] | None = None,
) -> discord.Message:
    channel = await deliberation_channel(bot, guild_id, deliberation.id)
    kwargs: dict[str, Any] = {"embed": embed}
    if view is not None:
        kwargs["view"] = view
    if reply_to is not None:
        # Shown as a reply to what it answers; if that post is gone, it is posted all the same.
        kwargs["reference"] = discord.MessageReference(
            message_id=reply_to[1], channel_id=reply_to[0], fail_if_not_exists=False
        )
    return await safe_send(channel, **kwargs)


async def post_contribution(bot: RoundtableBot, guild_id: int, deliberation: Deliberation, ref: str) -> discord.Message:
    """The outbox's `c:<id>`: a contribution's embed, as it stands when posted; a response is a
    reply to the post it answers."""
    c = deliberation.contributions[int(ref)]
    answered = None
    if c.kind is ContributionKind.RESPONSE and c.reply_to is not None:
        prefix = "c" if c.reply_to in deliberation.contributions else "o"
        answered = await bot.roundtable.post(guild_id, deliberation.id, f"{prefix}:{c.reply_to}")
    embed, view = contribution_embed(deliberation, c), contribution_view(deliberation, c)
    return await _post(bot, guild_id, deliberation, embed, view, reply_to=answered)


async def post_objection(bot: RoundtableBot, guild_id: int, deliberation: Deliberation, ref: str) -> discord.Message:
    """The outbox's `o:<id>`: an objection (or a block's) with its status and buttons."""
    o = deliberation.objections[int(ref)]
    return await _post(
        bot, guild_id, deliberation, objection_embed(deliberation, o), components(objection_buttons(deliberation, o))
    )


async def show_change(bot: RoundtableBot, guild_id: int, change: Change) -> None:
    """Refresh the posts a change touched (an edit, a vote, a status); what it added is owed in the outbox.

    Coalesced: while a post is being edited, further changes to it only mark it stale, and the edit
    in flight runs once more with the deliberation as it is then. A burst of 40 votes on one
    position is a handful of edits, not 40 (Discord rate-limits edits per channel too); the last
    edit always shows the latest state.
    """
    for item_id in change.touched():
        await _refresh_coalesced(bot, guild_id, change.deliberation.id, item_id)


# Per bot: posts being refreshed now -> whether a change arrived meanwhile (edit once more).
_refreshing: weakref.WeakKeyDictionary[RoundtableBot, dict[tuple[int, int, int], bool]] = weakref.WeakKeyDictionary()


async def _refresh_coalesced(bot: RoundtableBot, guild_id: int, deliberation_id: int, item_id: int) -> None:
    busy = _refreshing.setdefault(bot, {})
    key = (guild_id, deliberation_id, item_id)
    if key in busy:
        busy[key] = True
        return
    busy[key] = False
    try:
        while True:
            await refresh_post(bot, guild_id, await bot.roundtable.get(guild_id, deliberation_id), item_id)
            if not busy[key]:
                return
            busy[key] = False
    finally:
        busy.pop(key, None)


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
    where = await bot.roundtable.post(guild_id, deliberation.id, ref)
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
    "HUMAN_COLOUR",
    "author_line",
    "contribution_embed",
    "deliberation_channel",
    "objection_embed",
    "post_contribution",
    "post_objection",
    "refresh_post",
    "show_change",
    "tally_text",
]
