"""Server-side permission checks. `default_permissions` is only a hint to the client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.app import RoundtableBot

T = TypeVar("T")


class NotModerator(app_commands.CheckFailure):
    """The member has neither the guild's moderator role nor Manage Server."""

    def __init__(self, message: str = "Only moderators can do that.") -> None:
        super().__init__(message)
        self.user_message = message


def has_moderator_rights(member: discord.Member, moderator_role_id: int | None) -> bool:
    """The configured moderator role, or Manage Server as the fallback every guild has."""
    if member.guild_permissions.manage_guild:
        return True
    return moderator_role_id is not None and member.get_role(moderator_role_id) is not None


async def is_moderator(bot: RoundtableBot, member: discord.Member) -> bool:
    settings = await bot.roundtable.guild_settings(member.guild.id)
    return has_moderator_rights(member, settings.moderator_role_id)


async def require_moderator(interaction: discord.Interaction[Any]) -> None:
    """Raise `NotModerator` unless the interacting member moderates this guild.

    For buttons and modals, whose callbacks are not app-command checks.
    """
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        raise NotModerator("Use this in a server.")
    if not await is_moderator(interaction.client, member):
        raise NotModerator()


def moderator_only() -> Any:
    """App-command check: moderators only, answered with a short ephemeral refusal."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        await require_moderator(interaction)
        return True

    return app_commands.check(predicate)
