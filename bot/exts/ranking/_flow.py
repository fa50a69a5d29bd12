"""Ranking drafts in Discord: the moderator's command, a member's private menu, the posts it owes.

A member's ballot is built one place at a time in an ephemeral menu whose custom ids carry the
places chosen so far, so a menu still works after a restart; every step asks the engine (a dry
run changes nothing), so a forged id or value is refused like a bad ballot. Only the finished
ballot is stored.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from bot.engine import errors
from bot.engine.deliberation import Deliberation
from bot.engine.ranking import Ranking, drafts_list
from bot.exts._shared.buttons import KeepBallotButton, RankDraftsButton, RankPlaceMenu
from bot.exts._shared.lookup import actor_of, guild_id_of, moderator_of, resolve_deliberation
from bot.exts._shared.messages import NO_MENTIONS, answer_stored, safe_respond, safe_send
from bot.exts._shared.posting import deliberation_channel
from bot.exts.ranking import _embeds

if TYPE_CHECKING:
    from bot.app import RoundtableBot

log = logging.getLogger(__name__)

CUSTOM_ID_MAX = 100


def _bot(interaction: discord.Interaction[Any]) -> RoundtableBot:
    return interaction.client  # type: ignore[return-value]


def parse_drafts(text: str | None) -> list[int] | None:
    """`3 5 8`, `#3, #5`: draft numbers; None when none are named."""
    if text is None or not text.strip():
        return None
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    numbers = []
    for part in parts:
        digits = part.removeprefix("#")
        if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
            raise errors.InvalidValue("Name drafts by their numbers, e.g. `3 5 8`.")
        numbers.append(int(digits))
    return numbers


def parse_chosen(text: str) -> tuple[int, ...]:
    """The places a menu's id carries (`3.5`); a malformed one names no draft."""
    parts = text.split(".") if text else []
    if any(not p.isdigit() or len(p) > 18 for p in parts):
        raise errors.NotFound("That menu names no draft of this ranking; click Rank the drafts again.")
    return tuple(int(p) for p in parts)


# ---------------------------------------------------------------------- the moderator


async def ranking_command(
    bot: RoundtableBot,
    interaction: discord.Interaction[Any],
    *,
    close: bool,
    drafts: str | None,
    deliberation: int | None,
) -> None:
    """`/summary rank`: open a ranking of the standing drafts (or those named), or close the open one."""
    guild_id = guild_id_of(interaction)
    deliberation_id = await resolve_deliberation(bot, interaction, deliberation)
    actor = await moderator_of(bot, interaction)
    if close:
        if drafts is not None:
            raise errors.InvalidValue("Closing a ranking takes no drafts; leave `drafts` out.")
        change = await bot.roundtable.act(guild_id, deliberation_id, lambda d, at: d.close_ranking(actor, at))
        r = change.deliberation.rankings[-1]
        reply = (
            f"Ranking #{r.number} is closed with {len(r.ballots)} ballot(s); its result is posted in the "
            "deliberation. It is only a proposal: put one to the group with /summary adopt or /summary propose."
        )
    else:
        named = parse_drafts(drafts)
        change = await bot.roundtable.act(
            guild_id, deliberation_id, lambda d, at: d.open_ranking(actor, at, drafts=named)
        )
        r = change.deliberation.rankings[-1]
        reply = (
            f"Ranking #{r.number} of drafts {drafts_list(r.drafts)} is open: members rank them privately with "
            "the Rank the drafts button. Close it with /summary rank close:True (closing the round closes it too)."
        )
    posted = await bot.courier.deliver(guild_id, deliberation_id)
    await answer_stored(
        interaction, reply if posted else f"{reply} (Stored; the post will appear shortly.)", ephemeral=True
    )
    bot.publish(guild_id, change)


# ---------------------------------------------------------------------- a member's menu


def _menu_view(d: Deliberation, r: Ranking, chosen: tuple[int, ...]) -> discord.ui.View:
    left = [i for i in r.drafts if i not in chosen]
    options = [discord.SelectOption(label=f"#{i}", value=str(i), description=_embeds.plain_excerpt(d, i)) for i in left]
    view = discord.ui.View(timeout=None)
    view.add_item(RankPlaceMenu.of(d.id, r.number, chosen, options))
    if chosen:
        view.add_item(KeepBallotButton.of(d.id, r.number, chosen))
    view.stop()  # the registered dynamic items answer; discord.py must not also keep this view
    return view


def _fits(d: Deliberation, r: Ranking, chosen: tuple[int, ...]) -> bool:
    return len(RankPlaceMenu.of(d.id, r.number, chosen, []).item.custom_id or "") <= CUSTOM_ID_MAX


async def _checked(
    interaction: discord.Interaction[Any], deliberation_id: int, ranking: int, chosen: tuple[int, ...]
) -> tuple[Deliberation, Ranking]:
    """The deliberation and ranking a menu names, refusing (as the engine would a ballot) a member
    who may not rank, a closed ranking, or places that are not this ranking's drafts."""
    bot = _bot(interaction)
    d = await bot.roundtable.get(guild_id_of(interaction), deliberation_id)
    actor = actor_of(interaction)
    r = d.check_ranking(actor, ranking)
    if chosen:
        with contextlib.suppress(errors.AlreadyRecorded):  # the same as stored is still a fine menu
            d.rank(actor, chosen, bot.roundtable.now(), ranking=ranking)  # a dry run: deciding changes nothing
    return d, r


async def open_menu(interaction: discord.Interaction[Any], deliberation_id: int, ranking: int) -> None:
    """`Rank the drafts`: a private menu for the 1st choice, showing the member's current ballot."""
    d, r = await _checked(interaction, deliberation_id, ranking, ())
    current = r.ballot_of(actor_of(interaction).key)
    await safe_respond(interaction, _embeds.menu_text(d, r, current, ()), view=_menu_view(d, r, ()), ephemeral=True)


async def choose(
    interaction: discord.Interaction[Any], deliberation_id: int, ranking: int, chosen: str, values: list[str]
) -> None:
    """A place chosen in the menu: the next place's menu, or the ballot stored once it is complete."""
    if len(values) != 1:
        raise errors.InvalidValue("Choose one draft for this place.")
    so_far = parse_chosen(chosen)
    (picked,) = parse_chosen(str(values[0]))
    ballot = (*so_far, picked)
    d, r = await _checked(interaction, deliberation_id, ranking, ballot)
    if len(r.drafts) - len(ballot) <= 1 or not _fits(d, r, ballot):
        await store(interaction, deliberation_id, ranking, ballot)
        return
    current = r.ballot_of(actor_of(interaction).key)
    await interaction.response.edit_message(
        content=_embeds.menu_text(d, r, current, ballot), view=_menu_view(d, r, ballot), allowed_mentions=NO_MENTIONS
    )


async def keep(interaction: discord.Interaction[Any], deliberation_id: int, ranking: int, chosen: str) -> None:
    """`Keep this ranking`: the places chosen so far are the ballot; the rest rank below."""
    await store(interaction, deliberation_id, ranking, parse_chosen(chosen))


async def store(
    interaction: discord.Interaction[Any], deliberation_id: int, ranking: int, ballot: tuple[int, ...]
) -> None:
    """Store the ballot (a refusal raises before anything is written), then tell the member."""
    bot = _bot(interaction)
    guild_id = guild_id_of(interaction)
    actor = actor_of(interaction)
    try:
        change = await bot.roundtable.act(
            guild_id, deliberation_id, lambda d, at: d.rank(actor, ballot, at, ranking=ranking)
        )
    except errors.AlreadyRecorded:
        d = await bot.roundtable.get(guild_id, deliberation_id)
        text = _embeds.stored_text(d.ranking(ranking), d.ranking(ranking).ballot_of(actor.key) or ballot)
        await _answer(interaction, f"Nothing changed. {text}")
        return
    d = change.deliberation
    r = d.ranking(ranking)
    try:
        await _answer(interaction, _embeds.stored_text(r, r.ballot_of(actor.key) or ballot))
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        # Stored already: no apology saying nothing was changed, and the count is still refreshed.
        log.warning("Deliberation %s: ballot stored, its answer not delivered (%s)", d.id, type(exc).__name__)
    await refresh_announcement(bot, guild_id, d, r)
    bot.publish(guild_id, change)


async def _answer(interaction: discord.Interaction[Any], text: str) -> None:
    """Replace the private menu with the answer (the menu is spent), or answer anew."""
    if interaction.message is not None and interaction.message.flags.ephemeral and not interaction.response.is_done():
        await interaction.response.edit_message(content=text, view=None, allowed_mentions=NO_MENTIONS)
    else:
        await safe_respond(interaction, text, ephemeral=True)


# ---------------------------------------------------------------------- posts the ranking owes


async def refresh_announcement(bot: RoundtableBot, guild_id: int, d: Deliberation, r: Ranking) -> None:
    """The announcement's count of ballots (never whose), and no button once the ranking closed."""
    where = await bot.roundtable.post(guild_id, d.id, f"ranking:{r.number}")
    if where is None:
        return
    view = None if not r.is_open else _announcement_view(d, r)
    try:
        # A thread may be out of the cache after a restart: fetch it then.
        channel = bot.get_channel(where[0]) or await bot.fetch_channel(where[0])
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        await channel.get_partial_message(where[1]).edit(
            embed=_embeds.announcement_embed(d, r), view=view, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as exc:
        # Only a count; the next ballot or the result fixes it.
        log.info("Ranking %s/%s announcement not refreshed: %s", d.id, r.number, exc)


def _announcement_view(d: Deliberation, r: Ranking) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RankDraftsButton(d.id, r.number))
    view.stop()
    return view


async def post_announcement(bot: RoundtableBot, guild_id: int, d: Deliberation, number: str) -> discord.Message:
    r = d.ranking(int(number))
    channel = await deliberation_channel(bot, guild_id, d.id)
    if not r.is_open:
        return await safe_send(channel, embed=_embeds.announcement_embed(d, r))
    return await safe_send(channel, embed=_embeds.announcement_embed(d, r), view=_announcement_view(d, r))


async def post_result(bot: RoundtableBot, guild_id: int, d: Deliberation, number: str) -> discord.Message:
    r = d.ranking(int(number))
    channel = await deliberation_channel(bot, guild_id, d.id)
    message = await safe_send(channel, embed=_embeds.result_embed(d, r))
    await refresh_announcement(bot, guild_id, d, r)
    return message
