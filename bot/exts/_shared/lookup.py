"""From an interaction to what the service needs: the acting member and the deliberation meant."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import discord

from bot.engine.errors import InvalidValue, NotFound
from bot.engine.model import Actor

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.service import Roundtable

# Which deliberation a thread belongs to, per service (so per bot generation). A thread is made
# for one deliberation and never reused, so once found it need not be looked up again while that
# deliberation is open: a command in a thread then costs no query of the guild's open deliberations
# (an indexed lookup since migration 0003; before, it read up to 1,000 of them).
_THREADS: weakref.WeakKeyDictionary[Roundtable, dict[tuple[int, int], int]] = weakref.WeakKeyDictionary()


def actor_of(interaction: discord.Interaction[Any]) -> Actor:
    """The member acting. Their name is stored with the event; Discord shows aliases when anonymous."""
    user = interaction.user
    return Actor.human(user.id, user.display_name)


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
        await bot.roundtable.store.deliberation(guild_id, deliberation_id)
        return deliberation_id
    channel_id = interaction.channel_id
    service = bot.roundtable
    threads = _THREADS.setdefault(service, {})
    if channel_id is not None:
        known = threads.get((guild_id, channel_id))
        if known is not None:
            if (await service.get(guild_id, known)).is_open:  # in memory once loaded
                return known
            threads.pop((guild_id, channel_id), None)
    found = await service.store.open_deliberation_at(guild_id, channel_id)
    if found is not None:
        # Without a channel there is nothing to remember the answer by.
        if found.in_thread and channel_id is not None:
            threads[(guild_id, channel_id)] = found.id
        return found.id
    raise NotFound(
        "There is no open deliberation here. Use this in a deliberation's thread, "
        "or name the deliberation with the `deliberation` option."
    )


__all__ = ["actor_of", "guild_id_of", "resolve_deliberation"]
