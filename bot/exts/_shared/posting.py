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
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.engine import coverage
from bot.engine.deliberation import Deliberation
from bot.engine.errors import StorageUnavailable
from bot.engine.model import ACCEPTS, Contribution, ContributionKind, Objection, ObjectionStatus, Vote
from bot.exts._shared.buttons import (
    CritiqueButton,
    ObjectionButton,
    PersistentButton,
    RespondButton,
    VoteButton,
    components,
)
from bot.exts._shared.messages import NO_MENTIONS, safe_send
from bot.exts._shared.scheduler import DeadlineScheduler

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.service import Change

log = logging.getLogger(__name__)

# Discord's limits: a field's value, and everything in one embed together.
FIELD_MAX = 1024
EMBED_MAX = 6000

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
    if c.revises is not None:
        title += f" (revises draft #{c.revises})"
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
    # What an AI says it answers is the model's word; its coverage is what its quotes cite (below).
    if c.answers and not c.by_ai:
        embed.add_field(name="Answers", value=fitted([f"#{i}" for i in c.answers], FIELD_MAX), inline=False)
    # An AI's claims rest on members' own words, each quote checked before posting: show them.
    cited = [
        f'#{s.id} {shown_name(s.author)}: "{discord.utils.escape_markdown(s.quote)}"' for s in coverage.sources(d, c)
    ]
    if cited:
        embed.add_field(name="Quoted from members", value=fitted(cited, FIELD_MAX, "\n"), inline=False)
    if c.kind is ContributionKind.DRAFT and (left := coverage.unaddressed(d, c.id)):
        embed.add_field(name="Not addressed", value=not_addressed(left, FIELD_MAX), inline=False)
    if c.kind is ContributionKind.DRAFT:
        _lineage_fields(d, c, embed)
    footer = [f"Deliberation #{d.id}"]
    if c.history:
        footer.append(f"edited {len(c.history)} time{'s' if len(c.history) != 1 else ''}")
    if c.by_ai:
        footer.append("written by an AI; never counted in tallies, quorum or the outcome")
        if c.kind is ContributionKind.DRAFT:
            footer.append("a proposal only, until the moderator adopts it")
    embed.set_footer(text=" · ".join(footer))
    if (excess := len(embed) - EMBED_MAX) > 0 and embed.description:
        # Only a very long text with long lists can pass Discord's total; the record keeps it whole.
        embed.description = _clip(embed.description, len(embed.description) - excess)
    return embed


def shown_name(name: str) -> str:
    """A name inside an embed's text, bold and escaped: it can neither format nor pass for more of the list."""
    return f"**{discord.utils.escape_markdown(_clip(name, 80))}**"


def fitted(items: Sequence[str], limit: int, sep: str = ", ") -> str:
    """Whole items joined until `limit`, then how many were left out: never a cut id or name."""
    out = ""
    for n, item in enumerate(items):
        candidate = out + sep + item if out else item
        room = limit - len(f"{sep}…and {len(items) - n} more") if n < len(items) - 1 else limit
        if len(candidate) > room:
            rest = f"…and {len(items) - n} more"
            return f"{out}{sep}{rest}" if out else _clip(item, limit - len(rest) - 1) + " " + rest
        out = candidate
    return out


def not_addressed(items: Sequence[coverage.Unaddressed], limit: int) -> str:
    """ "#5 (**Grace**), #7 (**Linus**)": open dissent a draft leaves unanswered, every id whole."""
    return fitted([f"#{u.id} ({shown_name(u.author)})" if u.author else f"#{u.id}" for u in items], limit)


def _lineage_fields(d: Deliberation, draft: Contribution, embed: discord.Embed) -> None:
    """A draft's critiques and revisions so far, by number (each is posted as a reply to it)."""
    if critiques := d.critiques_of(draft.id):
        embed.add_field(name="Critiques", value=_clip(", ".join(f"#{k.id}" for k in critiques), 1024), inline=False)
    if revisions := d.revisions_of(draft.id):
        embed.add_field(name="Revised as", value=_clip(", ".join(f"draft #{r.id}" for r in revisions), 1024))


def objection_embed(d: Deliberation, o: Objection) -> discord.Embed:
    kind = "Block" if o.from_block else "Objection"
    title = f"{kind} #{o.id}" + (f" (on #{o.target})" if o.target is not None else "")
    embed = discord.Embed(title=title, colour=OBJECTION_COLOURS[o.status], timestamp=o.at)
    embed.set_author(name=_clip(author_line(d, o.author), 256))
    embed.add_field(name="What", value=_clip(o.what, 1024), inline=False)
    embed.add_field(name="Why", value=_clip(o.why, 1024), inline=False)
    embed.add_field(name="Status", value=o.status.value, inline=True)
    last = o.history[-1] if o.history else None
    if last is not None and last.reason and len(o.history) > 1:
        # Why it last moved (a reason is required to mark it addressed), and by whom, as shown here.
        moved = _MOVED.get(last.status, last.status.value)
        name = _clip(f"{moved} by {author_line(d, last.by)}", 256)
        embed.add_field(name=name, value=_clip(last.reason, 1024), inline=False)
    embed.set_footer(text=f"Deliberation #{d.id}")
    return embed


_MOVED = {ObjectionStatus.ADDRESSED: "Marked addressed", ObjectionStatus.OPEN: "Reopened"}


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


def _takes_critiques(d: Deliberation) -> bool:
    """Does this deliberation still take critiques of drafts (in its current round or a later one)?"""
    return d.is_open and any("critique" in ACCEPTS[r.kind] for r in d.rounds[d.current :])


def contribution_view(d: Deliberation, c: Contribution) -> discord.ui.View | None:
    items: list[PersistentButton] = []
    if d.is_open and c.kind in (ContributionKind.POSITION, ContributionKind.STATEMENT):
        items += vote_buttons(d, c.id)
    if _responds(d) and c.kind in (ContributionKind.POSITION, ContributionKind.STATEMENT, ContributionKind.RESPONSE):
        items.append(RespondButton(d.id, c.id))
    if c.kind is ContributionKind.DRAFT and _takes_critiques(d):
        items.append(CritiqueButton(d.id, c.id))
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
    elif (draft := _draft_answered(c)) is not None:
        # A critique under the draft it critiques; a revision under the draft it revises.
        answered = await bot.roundtable.post(guild_id, deliberation.id, contribution_ref(draft))
    embed, view = contribution_embed(deliberation, c), contribution_view(deliberation, c)
    return await _post(bot, guild_id, deliberation, embed, view, reply_to=answered)


def _draft_answered(c: Contribution) -> int | None:
    if c.kind is ContributionKind.CRITIQUE:
        return c.reply_to
    return c.revises


async def post_objection(bot: RoundtableBot, guild_id: int, deliberation: Deliberation, ref: str) -> discord.Message:
    """The outbox's `o:<id>`: an objection (or a block's) with its status and buttons."""
    o = deliberation.objections[int(ref)]
    return await _post(
        bot, guild_id, deliberation, objection_embed(deliberation, o), components(objection_buttons(deliberation, o))
    )


async def show_change(bot: RoundtableBot, guild_id: int, change: Change) -> None:
    """Refresh the posts a change touched (an edit, a vote, a status); what it added is owed in the outbox.

    Never raises for Discord or storage failing: the change is stored and its member answered, so
    a refresh that fails is tried again later (`_StaleRefreshes`), not reported to the member.
    """
    for item_id in change.touched():
        await refresh_later_if_failed(bot, guild_id, change.deliberation.id, item_id)


async def refresh_later_if_failed(bot: RoundtableBot, guild_id: int, deliberation_id: int, item_id: int) -> None:
    """Refresh one post to the stored state now; if Discord or storage fails, once more later."""

    async def refresh() -> None:
        await refresh_post(bot, guild_id, await bot.roundtable.get(guild_id, deliberation_id), item_id)

    await refresh_or_retry(bot, guild_id, deliberation_id, ("post", guild_id, deliberation_id, item_id), refresh)


async def refresh_or_retry(
    bot: RoundtableBot, guild_id: int, deliberation_id: int, key: Hashable, refresh: Callable[[], Awaitable[object]]
) -> None:
    """`coalesced(bot, key, refresh)`; if Discord (a 5xx, a rate limit, no connection) or storage
    fails it, `refresh` runs again later. Never raises for those: what it shows is stored already."""
    try:
        await coalesced(bot, key, refresh)
    except (discord.HTTPException, OSError, TimeoutError, StorageUnavailable) as exc:
        # Refreshes coalesced into this one were dropped with it: the retry reads the state afresh.
        _stale_refreshes(bot).add(guild_id, deliberation_id, key, refresh, exc)


# A refresh that failed is tried again after 10 s, doubling, at most 5 times (a post Discord keeps
# refusing, e.g. in a thread the bot can no longer edit, is given up; the next change refreshes it).
REFRESH_RETRY_SECONDS = 10.0
REFRESH_ATTEMPTS = 5


class _StaleRefreshes:
    """Refreshes that failed, per deliberation, run again on the bot's timers."""

    def __init__(self, bot: RoundtableBot) -> None:
        self._bot = weakref.ref(bot)
        self._due_refreshes: dict[int, dict[Hashable, Callable[[], Awaitable[object]]]] = {}
        self._attempts: dict[int, int] = {}
        self._timers = DeadlineScheduler(self._due, bot.clock, timers=bot.timers)

    def add(
        self,
        guild_id: int,
        deliberation_id: int,
        key: Hashable,
        refresh: Callable[[], Awaitable[object]],
        exc: BaseException,
    ) -> None:
        attempts = self._attempts.get(deliberation_id, 0)
        reason = f"{type(exc).__name__} {getattr(exc, 'status', '')}".strip()
        what = f"{key[0]} {key[-1]}" if isinstance(key, tuple) and key else str(key)
        if attempts >= REFRESH_ATTEMPTS:
            log.warning("Deliberation %s: %s not refreshed (%s); given up", deliberation_id, what, reason)
            self._due_refreshes.pop(deliberation_id, None)
            self._attempts.pop(deliberation_id, None)
            return
        self._due_refreshes.setdefault(deliberation_id, {})[key] = refresh
        self._attempts[deliberation_id] = attempts + 1
        bot = self._bot()
        if bot is None:
            return
        if deliberation_id not in self._timers:
            when = bot.clock() + timedelta(seconds=REFRESH_RETRY_SECONDS * 2**attempts)
            self._timers.schedule(guild_id, deliberation_id, when)
        log.warning(
            "Deliberation %s: %s not refreshed (%s); trying again at %s",
            deliberation_id,
            what,
            reason,
            f"{self._timers.deadline_of(deliberation_id):%H:%M:%S}",
        )

    async def _due(self, guild_id: int, deliberation_id: int) -> None:
        bot = self._bot()
        due = self._due_refreshes.pop(deliberation_id, {})
        if bot is None:
            return
        for key, refresh in due.items():
            await refresh_or_retry(bot, guild_id, deliberation_id, key, refresh)
        if deliberation_id not in self._due_refreshes:
            self._attempts.pop(deliberation_id, None)  # all refreshed: the next failure starts afresh


_stale: weakref.WeakKeyDictionary[RoundtableBot, _StaleRefreshes] = weakref.WeakKeyDictionary()


def _stale_refreshes(bot: RoundtableBot) -> _StaleRefreshes:
    stale = _stale.get(bot)
    if stale is None:
        stale = _stale[bot] = _StaleRefreshes(bot)
    return stale


# Per bot: refreshes under way -> whether a change arrived meanwhile (refresh once more).
_refreshing: weakref.WeakKeyDictionary[RoundtableBot, dict[Hashable, bool]] = weakref.WeakKeyDictionary()


async def coalesced(bot: RoundtableBot, key: Hashable, refresh: Callable[[], Awaitable[object]]) -> None:
    """Run `refresh` (an edit showing the current state), unless one for `key` is under way: then
    that one runs once more when it ends, and this returns at once.

    A burst of 40 votes on one position, or 40 answers to one consent check, is a handful of edits,
    not 40 (Discord rate-limits edits per channel too); each refresh reads the state afresh, so the
    last edit always shows the latest.
    """
    busy = _refreshing.setdefault(bot, {})
    if key in busy:
        busy[key] = True
        return
    busy[key] = False
    try:
        while True:
            await bot.answers_first.wait()
            await refresh()
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
    "coalesced",
    "contribution_embed",
    "deliberation_channel",
    "objection_embed",
    "post_contribution",
    "post_objection",
    "refresh_later_if_failed",
    "refresh_or_retry",
    "refresh_post",
    "show_change",
    "tally_text",
]
