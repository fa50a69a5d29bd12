"""The one path every contribution takes: decide and store, publish, answer the member, show."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.exts._shared.lookup import guild_id_of
from bot.exts._shared.messages import answer_stored
from bot.exts._shared.posting import show_change
from bot.service import Change, Decision

if TYPE_CHECKING:
    from bot.app import RoundtableBot

log = logging.getLogger(__name__)


async def perform(
    interaction: discord.Interaction[Any],
    deliberation_id: int,
    decide: Decision,
    confirm: Callable[[Change], str],
) -> Change:
    """Store the action (a refusal raises before anything is written), answer the member, then show it.

    The answer goes out as soon as the action is stored, never after Discord's side of it: what
    the change owes (its post, a DM) is in the outbox and the courier posts it next (`publish`),
    retrying while Discord fails; the posts it touched are refreshed after the answer. In a burst
    members are answered at the rate actions are stored, not the rate Discord takes posts.
    """
    bot: RoundtableBot = interaction.client  # type: ignore[assignment]
    guild_id = guild_id_of(interaction)
    with bot.answers_first.answering():  # follow-up work waits while members wait for answers
        change = await bot.roundtable.act(guild_id, deliberation_id, decide)
        try:
            await answer_stored(interaction, confirm(change), ephemeral=True)  # never the false apology
        finally:
            bot.publish(guild_id, change)  # what it owes is posted even when the answer could not be sent
    try:
        await show_change(bot, guild_id, change)
    except Exception:
        # A bug in refreshing a post, after the action was stored and answered: logged with its
        # traceback, never answered with the apology (it says nothing was changed; something was).
        log.exception("Deliberation %s: refreshing posts after a stored action failed", deliberation_id)
    return change
