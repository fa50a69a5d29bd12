"""How a guild's Roundtable settings look to a moderator."""

from __future__ import annotations

import discord

from bot.store import GuildSettings


def guild_settings_embed(settings: GuildSettings, *, title: str) -> discord.Embed:
    embed = discord.Embed(title=title, colour=discord.Colour.blurple())
    embed.add_field(
        name="Moderator role",
        value=(
            f"<@&{settings.moderator_role_id}>"
            if settings.moderator_role_id is not None
            else "Not set: members with Manage Server moderate"
        ),
        inline=False,
    )
    embed.add_field(
        name="Archive channel",
        value=(
            f"<#{settings.archive_channel_id}>"
            if settings.archive_channel_id is not None
            else "Not set: records stay in their deliberation"
        ),
        inline=False,
    )
    embed.add_field(name="AI participants", value="On" if settings.ai_enabled else "Off", inline=False)
    return embed
