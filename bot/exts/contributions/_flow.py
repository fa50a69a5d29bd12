"""The one path every contribution takes: decide and store, answer the member, show, publish."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.exts._shared.lookup import guild_id_of
from bot.exts._shared.messages import safe_respond
from bot.exts._shared.posting import show_change
from bot.service import Change, Decision

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def perform(
    interaction: discord.Interaction[Any],
    deliberation_id: int,
    decide: Decision,
    confirm: Callable[[Change, bool], str],
) -> Change:
    """Store the action (a refusal raises before anything is written), post what it owes, then
    tell the member the truth: posted, or stored and to appear once Discord takes it.
    """
    bot: RoundtableBot = interaction.client  # type: ignore[assignment]
    guild_id = guild_id_of(interaction)
    change = await bot.roundtable.act(guild_id, deliberation_id, decide)
    posted = await bot.courier.deliver_soon(guild_id, deliberation_id)
    await safe_respond(interaction, confirm(change, posted), ephemeral=True)
    await show_change(bot, guild_id, change)
    bot.publish(guild_id, change)
    return change
