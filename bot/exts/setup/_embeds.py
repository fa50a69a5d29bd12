"""How a guild's Roundtable settings look to a moderator."""

from __future__ import annotations

import discord

from bot.service import GuildSettings


def guild_settings_embed(settings: GuildSettings, guild: discord.Guild, *, title: str) -> discord.Embed:
    # Names rather than mentions: unambiguous, and shown the same by every client and the sandbox.
    role = guild.get_role(settings.moderator_role_id) if settings.moderator_role_id is not None else None
    channel = guild.get_channel(settings.archive_channel_id) if settings.archive_channel_id is not None else None
    if settings.moderator_role_id is None:
        role_text = "Not set: members with Manage Server moderate"
    else:
        role_text = f"@{role.name}" if role is not None else "A role that no longer exists"
    if settings.archive_channel_id is None:
        channel_text = "Not set: records stay in their deliberation"
    else:
        channel_text = f"#{channel.name}" if channel is not None else "A channel that no longer exists"
    embed = discord.Embed(title=title, colour=discord.Colour.blurple())
    embed.add_field(name="Moderator role", value=role_text, inline=False)
    embed.add_field(name="Archive channel", value=channel_text, inline=False)
    embed.add_field(name="AI participants", value="On" if settings.ai_enabled else "Off", inline=False)
    return embed
