"""The one error handler: refusals are short and ephemeral, bugs are logged and apologised for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
import pytest
import simcord
from discord import app_commands
from discord_harness import Table

from bot.app import RoundtableBot
from bot.engine.errors import NotFound, RoundtableError
from bot.exts._shared import APOLOGY, RoundtableView
from bot.exts._shared.errors import refusal_message
from bot.service import Roundtable


async def test_an_unexpected_error_gets_an_apology_and_is_logged_with_context(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    take_errors: Callable[[], list[BaseException]],
) -> None:
    async def broken(self: Roundtable, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(Roundtable, "configure_guild", broken)

    with caplog.at_level(logging.ERROR, logger="bot"):
        result = await table.admin.slash(table.deliberations, "roundtable setup", ai=False)

    assert result.ephemeral
    assert result.response is not None
    assert result.response.content == APOLOGY
    assert "database on fire" not in result.response.content
    [record] = [r for r in caplog.records if r.name == "bot.exts._shared.errors"]
    message = record.getMessage()
    assert "/roundtable setup" in message
    assert f"guild={table.guild.id}" in message
    assert f"user={table.admin.id}" in message
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    # SimCord saw the bug too: it is not hidden from tests.
    [error] = take_errors()
    assert isinstance(error, app_commands.CommandInvokeError)
    assert isinstance(error.original, RuntimeError)


async def test_a_refusal_from_the_service_is_answered_with_its_own_words(
    env: simcord.Env, table: Table, bot: RoundtableBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(self: Roundtable, *args: Any, **kwargs: Any) -> Any:
        raise NotFound("That deliberation does not exist in this server.")

    monkeypatch.setattr(Roundtable, "configure_guild", refuse)

    result = await table.admin.slash(table.deliberations, "roundtable setup", ai=True)

    assert result.ephemeral
    assert result.response is not None
    assert result.response.content == "That deliberation does not exist in this server."


class _BrokenButton(RoundtableView):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Break", custom_id="rt:test:break")
    async def smash(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        raise ZeroDivisionError


class _RefusingButton(RoundtableView):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Refuse", custom_id="rt:test:refuse")
    async def refuse(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer(ephemeral=True)
        raise RoundtableError("That round is closed.")


async def test_component_errors_go_through_the_same_handler(
    env: simcord.Env,
    table: Table,
    bot: RoundtableBot,
    take_errors: Callable[[], list[BaseException]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = bot.get_channel(table.deliberations.id)
    assert isinstance(channel, discord.TextChannel)
    with env.time_context():
        broken = await channel.send("broken", view=_BrokenButton())
        refusing = await channel.send("refusing", view=_RefusingButton())

    with caplog.at_level(logging.ERROR, logger="bot"):
        crashed = await table.ada.click(broken, label="Break")
    assert crashed.response is not None
    assert crashed.response.content == APOLOGY
    assert crashed.response.ephemeral
    assert any("_BrokenButton view" in r.getMessage() for r in caplog.records)
    assert any(isinstance(e, ZeroDivisionError) for e in take_errors())

    # Deferred first: the refusal arrives as an ephemeral follow-up.
    refused = await table.ada.click(refusing, label="Refuse")
    [followup] = refused.followups
    assert followup.content == "That round is closed."
    assert followup.ephemeral


def test_refusals_are_recognised_inside_discord_wrappers() -> None:
    command = app_commands.Command(name="x", description="x", callback=_noop)
    wrapped = app_commands.CommandInvokeError(command, NotFound("No such deliberation."))
    assert refusal_message(wrapped) == "No such deliberation."
    bug = app_commands.CommandInvokeError(command, KeyError("x"))
    assert refusal_message(bug) is None


async def _noop(interaction: discord.Interaction[Any]) -> None:
    return None
