"""From an interaction to what the service needs: the acting member and the deliberation meant."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot.engine.errors import InvalidValue, NotFound
from bot.engine.model import Actor
from bot.exts._shared.checks import is_moderator

if TYPE_CHECKING:
    from bot.app import RoundtableBot


def actor_of(interaction: discord.Interaction[Any]) -> Actor:
    """The member acting. Their name is stored with the event; Discord shows aliases when anonymous."""
    user = interaction.user
    return Actor.human(user.id, user.display_name)


async def moderator_of(bot: RoundtableBot, interaction: discord.Interaction[Any]) -> Actor:
    """The member acting, holding the guild's moderator rights if they have them: such a member
    may run any deliberation of the guild, not only the ones they opened (the engine decides)."""
    actor = actor_of(interaction)
    member = interaction.user
    if isinstance(member, discord.Member) and await is_moderator(bot, member):
        return replace(actor, moderates=True)
    return actor


def guild_id_of(interaction: discord.Interaction[Any]) -> int:
    if interaction.guild_id is None:
        raise InvalidValue("Use this in a server.")
    return interaction.guild_id


async def resolve_deliberation(
    bot: RoundtableBot, interaction: discord.Interaction[Any], deliberation_id: int | None = None
) -> int:
    """The deliberation a command means: the one given, else the open one in this thread or channel.

    In a channel that runs several deliberations (`discord.run_in_channel`), the newest wins;
    the command's `deliberation` option picks another.
    """
    guild_id = guild_id_of(interaction)
    if deliberation_id is not None:
        # Raises NotFound for another guild's id as for a missing one.
        await bot.roundtable.require(guild_id, deliberation_id)
        return deliberation_id
    found = await bot.roundtable.deliberation_here(guild_id, interaction.channel_id)
    if found is not None:
        return found
    raise NotFound(
        "There is no open deliberation here. Use this in a deliberation's thread, "
        "or name the deliberation with the `deliberation` option."
    )


__all__ = ["actor_of", "guild_id_of", "moderator_of", "resolve_deliberation"]
