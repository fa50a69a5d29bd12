"""`/roundtable setup` as moderators and members use it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord
import simcord
from discord_harness import Table

from bot.app import RoundtableBot


async def test_manage_server_member_configures_and_it_survives_a_restart(
    env: simcord.Env, table: Table, restart: Callable[[], Awaitable[RoundtableBot]]
) -> None:
    result = await table.admin.slash(
        table.deliberations,
        "roundtable setup",
        moderator_role=table.moderators,
        archive_channel=table.archive,
        ai=False,
    )

    assert result.ephemeral
    assert result.response is not None
    embed = result.response.embeds[0]
    assert embed.title == "Roundtable settings saved"
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Moderator role"] == "@Moderators"
    assert fields["Archive channel"] == "#archive"
    assert fields["AI participants"] == "Off"

    bot = await restart()
    stored = await bot.roundtable.guild_settings(table.guild.id)
    assert stored.moderator_role_id == table.moderators.id
    assert stored.archive_channel_id == table.archive.id
    assert stored.ai_enabled is False

    # After the restart the configured role is what makes a moderator.
    shown = await table.moderator.slash(table.deliberations, "roundtable setup")
    assert shown.ephemeral
    assert shown.response is not None
    fields = {field.name: field.value for field in shown.response.embeds[0].fields}
    assert fields["Moderator role"] == "@Moderators"


async def test_options_left_out_stay_as_they_were(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    await table.admin.slash(table.deliberations, "roundtable setup", moderator_role=table.moderators, ai=False)
    await table.moderator.slash(table.deliberations, "roundtable setup", archive_channel=table.archive)

    stored = await bot.roundtable.guild_settings(table.guild.id)
    assert stored.moderator_role_id == table.moderators.id
    assert stored.archive_channel_id == table.archive.id
    assert stored.ai_enabled is False


async def test_a_member_who_is_not_a_moderator_is_refused_and_nothing_changes(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    before = await bot.roundtable.guild_settings(table.guild.id)

    # Ada has no moderator role, and none is configured yet: Manage Server is required.
    result = await table.ada.slash(table.deliberations, "roundtable setup", archive_channel=table.archive, ai=False)

    assert result.ephemeral
    assert result.response is not None
    assert result.response.content == "Only moderators can do that."
    assert await bot.roundtable.guild_settings(table.guild.id) == before
    # The refusal is visible to Ada only.
    assert result.response.id not in {m.id for m in table.deliberations.history(viewer=table.grace)}


async def test_the_role_of_a_moderator_does_not_extend_to_other_roles(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await table.admin.slash(table.deliberations, "roundtable setup", moderator_role=table.moderators)

    refused = await table.linus.slash(table.deliberations, "roundtable setup", ai=True)

    assert refused.response is not None
    assert refused.response.content == "Only moderators can do that."


async def test_everyone_cannot_be_the_moderator_role(env: simcord.Env, table: Table, bot: RoundtableBot) -> None:
    result = await table.admin.slash(table.deliberations, "roundtable setup", moderator_role=table.guild.default_role)

    assert result.ephemeral
    assert result.response is not None
    assert "not @everyone" in result.response.content
    assert (await bot.roundtable.guild_settings(table.guild.id)).moderator_role_id is None


async def test_an_archive_channel_the_bot_cannot_post_in_is_refused(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    assert table.guild.me is not None
    locked = table.guild.create_text_channel(
        "locked",
        overwrites={table.guild.me: discord.PermissionOverwrite(send_messages=False)},
    )

    result = await table.admin.slash(table.deliberations, "roundtable setup", archive_channel=locked)

    assert result.response is not None
    # Without Send Messages, Discord also withholds embeds and attachments.
    assert result.response.content == (
        f"I can't post records in {locked.mention}: I need send messages, embed links, attach files there."
    )
    assert (await bot.roundtable.guild_settings(table.guild.id)).archive_channel_id is None
