"""Telling a member their objection was marked addressed: the outbox's `addressed:<id>:<when>`.

The member who raised it is told who marked it and why, and that they may reopen it. By direct
message; when their direct messages are closed, in a deliberation that is not anonymous, by a
reply to the objection that mentions them and only them. In an anonymous deliberation a public
mention would tie the member to their alias, so it is a direct message or nothing (the
objection's post shows the reason to everyone either way).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.model import Actor, Objection, ObjectionStatus, StatusChange
from bot.exts._shared.messages import safe_send
from bot.exts._shared.posting import objection_ref

if TYPE_CHECKING:
    from bot.app import RoundtableBot

log = logging.getLogger(__name__)

ADDRESSED_REF = "addressed"
FIELD_MAX = 1024


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _change(o: Objection, at: datetime) -> StatusChange | None:
    """The change that marked the objection addressed at that moment."""
    return next((c for c in o.history if c.status is ObjectionStatus.ADDRESSED and c.at == at), None)


def addressed_embed(d: Deliberation, o: Objection, change: StatusChange, link: str | None) -> discord.Embed:
    """What the member is told: their objection, who marked it addressed and why, how to reopen it."""
    embed = discord.Embed(
        title=f"Your objection #{o.id} was marked addressed",
        description=_clip(f"Deliberation #{d.id}: {d.question}", 4096),
        colour=discord.Colour.green(),
        timestamp=change.at,
    )
    embed.add_field(name="Your objection", value=_clip(o.what, FIELD_MAX), inline=False)
    embed.add_field(name=f"Why, says {_clip(d.display_name(change.by), 200)}", value=_clip(change.reason, FIELD_MAX))
    where = f"on [your objection]({link})" if link else "on your objection in the deliberation's thread"
    embed.add_field(
        name="If it is not addressed for you",
        value=f"Press **Reopen** {where} while the deliberation is open, and say why.",
        inline=False,
    )
    if o.from_block:
        # Marking a block's objection addressed does not change the member's consent answer.
        embed.add_field(
            name="Your consent answer",
            value="Your Block still counts until you change your answer at the consent check.",
            inline=False,
        )
    return embed


async def tell_author(bot: RoundtableBot, guild_id: int, d: Deliberation, rest: str) -> discord.Message | None:
    """The outbox handler: tell the objection's author, privately where it must be."""
    number, _, when = rest.partition(":")
    o = d.objections[int(number)]
    change = _change(o, datetime.fromisoformat(when))
    member_id = Actor.from_key(o.author).member_id
    if change is None or member_id is None:
        log.warning("Deliberation %s: no addressed change %s to tell its author about", d.id, rest)
        return None
    where = await bot.roundtable.post(guild_id, d.id, objection_ref(o.id))
    link = f"https://discord.com/channels/{guild_id}/{where[0]}/{where[1]}" if where else None
    embed = addressed_embed(d, o, change, link)
    try:
        user = bot.get_user(member_id) or await bot.fetch_user(member_id)
        return await safe_send(user, embed=embed)
    except discord.Forbidden as exc:  # their direct messages are closed
        if d.settings.anonymous or where is None:
            log.info("Deliberation %s: author of objection #%s not told (%s)", d.id, o.id, exc.status)
            return None
    # Not anonymous: a reply under the objection, mentioning its author and nobody else.
    channel = bot.get_channel(where[0]) or await bot.fetch_channel(where[0])
    assert isinstance(channel, discord.abc.Messageable)
    only_them = discord.AllowedMentions(
        everyone=False, roles=False, replied_user=False, users=[discord.Object(id=member_id)]
    )
    reference = discord.MessageReference(message_id=where[1], channel_id=where[0], fail_if_not_exists=False)
    return await channel.send(f"<@{member_id}>", embed=embed, allowed_mentions=only_them, reference=reference)


__all__ = ["ADDRESSED_REF", "addressed_embed", "tell_author"]
