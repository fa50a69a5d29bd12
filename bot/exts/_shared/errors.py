"""One error path for every interaction: slash commands, buttons, selects and modals.

Refusals (the engine's typed `RoundtableError`s and failed checks) become a short ephemeral
message. Anything else is a bug: it is logged with enough context to find it, and the member
gets a short apology, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.engine.errors import RoundtableError, StorageUnavailable
from bot.exts._shared.messages import reply_error

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side and nothing was changed. Please try again later."


def unwrap(error: BaseException) -> BaseException:
    """The exception a handler raised, out of discord.py's wrappers."""
    while isinstance(error, (app_commands.CommandInvokeError, app_commands.TransformerError)):
        inner = error.__cause__ if isinstance(error, app_commands.TransformerError) else error.original
        if inner is None:
            break
        error = inner
    return error


def refusal_message(error: BaseException) -> str | None:
    """The user-facing message for an expected refusal, or None if `error` is a bug."""
    error = unwrap(error)
    if isinstance(error, RoundtableError):
        return error.user_message
    user_message = getattr(error, "user_message", None)
    if isinstance(error, app_commands.CheckFailure) and isinstance(user_message, str):
        return user_message
    if isinstance(error, app_commands.NoPrivateMessage):
        return "Use this command in a server."
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
        return f"You need the {needed} permission for that."
    if isinstance(error, app_commands.BotMissingPermissions):
        needed = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
        return f"I need the {needed} permission here for that."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} seconds."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that here."
    return None


def describe_interaction(interaction: discord.Interaction[Any]) -> str:
    """Context for a log line: what was used, where and by whom (ids only, never text)."""
    if interaction.command is not None:
        what = f"/{interaction.command.qualified_name}"
    else:
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        what = f"{interaction.type.name} custom_id={data.get('custom_id')!r}"
    return f"{what} guild={interaction.guild_id} channel={interaction.channel_id} user={interaction.user.id}"


async def handle_interaction_error(
    interaction: discord.Interaction[Any], error: BaseException, *, source: str | None = None
) -> None:
    """Answer `interaction` for `error`: a refusal, or a logged bug and an apology."""
    if isinstance(unwrap(error), StorageUnavailable) and _answered(interaction):
        # The action was stored and the member told so; storage went only afterwards (refreshing a
        # post). "Nothing was recorded" now would be false: the answer given stands.
        log.info("Storage unavailable after %s was answered; the answer stands", describe_interaction(interaction))
        return
    message = refusal_message(error)
    if message is None:
        original = unwrap(error)
        where = describe_interaction(interaction)
        if source:
            where = f"{where} ({source})"
        log.error("Unexpected error in %s", where, exc_info=original)
        message = APOLOGY
    else:
        log.debug("Refused %s: %s", describe_interaction(interaction), message)
    await reply_error(interaction, message)


def _answered(interaction: discord.Interaction[Any]) -> bool:
    """Whether the member already has this interaction's answer (a message, not a deferral)."""
    answered = (discord.InteractionResponseType.channel_message, discord.InteractionResponseType.message_update)
    return interaction.response.type in answered


class RoundtableTree(app_commands.CommandTree[Any]):
    """The command tree with Roundtable's single error handler."""

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        await handle_interaction_error(interaction, error)
