from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.errors import InvalidValue
from bot.exts._shared.checks import moderator_only
from bot.exts._shared.messages import safe_respond
from bot.exts.setup._embeds import guild_settings_embed

if TYPE_CHECKING:
    from bot.app import RoundtableBot

log = logging.getLogger(__name__)

# Permissions the bot needs in the archive channel to post sealed records with attachments.
ARCHIVE_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True, attach_files=True)


@app_commands.guild_only()
class GuildSetup(commands.GroupCog, group_name="roundtable", group_description="Roundtable settings"):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="setup", description="Set the moderator role, archive channel and AI")
    @app_commands.describe(
        moderator_role="Members with this role moderate deliberations (Manage Server always does)",
        archive_channel="Where sealed decision records are posted",
        ai="Allow AI participants in this server's deliberations",
    )
    @moderator_only()
    async def setup_command(
        self,
        interaction: discord.Interaction[Any],
        moderator_role: discord.Role | None = None,
        archive_channel: discord.TextChannel | None = None,
        ai: bool | None = None,
    ) -> None:
        assert interaction.guild is not None  # guild_only
        guild = interaction.guild
        if moderator_role is None and archive_channel is None and ai is None:
            current = await self.bot.roundtable.guild_settings(guild.id)
            embed = guild_settings_embed(current, guild, title="Roundtable settings")
            await safe_respond(interaction, embed=embed, ephemeral=True)
            return

        # Only options the moderator gave change; the service leaves the others as they are.
        changes: dict[str, Any] = {}
        if moderator_role is not None:
            if moderator_role.is_default() or moderator_role.managed:
                raise InvalidValue("Choose a role members are given, not @everyone or a bot's role.")
            changes["moderator_role_id"] = moderator_role.id
        if archive_channel is not None:
            missing = _missing_permissions(archive_channel)
            if missing:
                raise InvalidValue(f"I can't post records in {archive_channel.mention}: I need {missing} there.")
            changes["archive_channel_id"] = archive_channel.id
        if ai is not None:
            changes["ai_enabled"] = ai

        updated = await self.bot.roundtable.configure_guild(
            guild.id, interaction.user.id, actor_name=interaction.user.display_name, **changes
        )
        log.info("Guild %s settings changed by %s: %s", guild.id, interaction.user.id, sorted(changes))
        embed = guild_settings_embed(updated, guild, title="Roundtable settings saved")
        await safe_respond(interaction, embed=embed, ephemeral=True)


def _missing_permissions(channel: discord.TextChannel) -> str:
    have = channel.permissions_for(channel.guild.me)
    missing = [name.replace("_", " ") for name, needed in ARCHIVE_PERMISSIONS if needed and not getattr(have, name)]
    return ", ".join(missing)
