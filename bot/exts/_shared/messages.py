"""Sending helpers that can never ping anyone.

Everything the bot posts may repeat member or AI text, so every send goes through here with
`AllowedMentions.none()`: a position that says `@everyone` is shown, never delivered as a ping.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import discord

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def _without_mentions(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Overwrite rather than merge: a caller passing its own AllowedMentions is a bug here.
    kwargs["allowed_mentions"] = NO_MENTIONS
    return kwargs


async def safe_send(destination: discord.abc.Messageable, content: str | None = None, **kwargs: Any) -> discord.Message:
    """`destination.send` with mentions disabled."""
    return await destination.send(content, **_without_mentions(kwargs))


async def safe_edit(message: discord.Message, **kwargs: Any) -> discord.Message:
    """`message.edit` with mentions disabled."""
    return await message.edit(**_without_mentions(kwargs))


async def safe_respond(
    interaction: discord.Interaction, content: str | None = None, *, ephemeral: bool = False, **kwargs: Any
) -> None:
    """Answer an interaction: the initial response if it is still open, else a follow-up."""
    kwargs = _without_mentions(kwargs)
    if interaction.response.is_done():
        # A webhook's `content` is `str`, not optional: leave it out rather than pass None.
        if content is not None:
            kwargs["content"] = content
        await interaction.followup.send(ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)


async def answer_stored(
    interaction: discord.Interaction, content: str | None = None, *, ephemeral: bool = False, **kwargs: Any
) -> bool:
    """Answer an interaction whose action is already stored. False if the answer did not reach Discord.

    Never raises for Discord refusing it (a 5xx, or "Unknown interaction" when the 3 s passed) or
    the connection dropping: the error handler's apology says nothing was changed, which would be
    false, and what the caller does next (publishing the change: its posts, its deadline, the AI's
    turn) must still happen.
    """
    try:
        await safe_respond(interaction, content, ephemeral=ephemeral, **kwargs)
    except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "status", None) or type(exc).__name__
        log.warning("Interaction %s: action stored, its answer not delivered (%s)", interaction.id, reason)
        return False
    return True


async def reply_error(interaction: discord.Interaction, message: str) -> None:
    """Tell only the member who acted why nothing happened.

    Never raises for transport failures: the interaction may have expired (Discord allows
    3 seconds to answer, 15 minutes to follow up) and an error about an error helps nobody.
    """
    try:
        await safe_respond(interaction, message, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("Could not deliver an error reply (interaction %s): %s", interaction.id, exc)
