"""`/position`, `/object`, `/statement`, `/consent`: the same actions as the thread's buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.model import CONSENT_LABELS, ConsentChoice, ContributionKind
from bot.exts._shared.lookup import actor_of, resolve_deliberation
from bot.exts._shared.posting import refresh_later_if_failed
from bot.exts.contributions import _replies
from bot.exts.contributions._flow import perform
from bot.exts.contributions._views import (
    give_consent,
    open_objection_modal,
    open_position_modal,
    open_reason_modal,
    open_response_modal,
    open_statement_modal,
)

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.service import Change

DELIBERATION_HELP = "Which deliberation (by number); defaults to the one in this thread or channel"


class Contributions(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot

    @app_commands.guild_only()
    @app_commands.command(name="position", description="State your position (stating it again edits it)")
    @app_commands.describe(
        stance="Your position in a few words; leave out to write it in a form",
        reasoning="Why you hold it; leave out to write it in a form",
        deliberation=DELIBERATION_HELP,
    )
    async def position(
        self,
        interaction: discord.Interaction[Any],
        stance: str | None = None,
        reasoning: str | None = None,
        deliberation: int | None = None,
    ) -> None:
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        if stance is None or reasoning is None:
            await open_position_modal(interaction, deliberation_id, stance=stance, reasoning=reasoning)
            return
        actor = actor_of(interaction)
        await perform(
            interaction,
            deliberation_id,
            lambda d, at: d.state_position(actor, stance, reasoning, at),
            _replies.position,
        )

    @app_commands.guild_only()
    @app_commands.command(name="object", description="Raise an objection: what, and why")
    @app_commands.describe(
        what="What you object to; leave out to write it in a form",
        why="Why, and what would have to change; leave out to write it in a form",
        target="The number of the position or statement you object to, if any",
        deliberation=DELIBERATION_HELP,
    )
    async def object_(
        self,
        interaction: discord.Interaction[Any],
        what: str | None = None,
        why: str | None = None,
        target: int | None = None,
        deliberation: int | None = None,
    ) -> None:
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        if what is None or why is None:
            await open_objection_modal(interaction, deliberation_id, target=target)
            return
        actor = actor_of(interaction)
        await perform(
            interaction,
            deliberation_id,
            lambda d, at: d.object(actor, what, why, at, target=target),
            _replies.objection,
        )

    @app_commands.guild_only()
    @app_commands.command(name="statement", description="Add a statement for everyone to vote on")
    @app_commands.describe(
        text="One clear claim; leave out to write it in a form",
        deliberation=DELIBERATION_HELP,
    )
    async def statement(
        self, interaction: discord.Interaction[Any], text: str | None = None, deliberation: int | None = None
    ) -> None:
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        if text is None:
            await open_statement_modal(interaction, deliberation_id)
            return
        actor = actor_of(interaction)
        await perform(
            interaction, deliberation_id, lambda d, at: d.state_statement(actor, text, at), _replies.statement
        )

    @app_commands.guild_only()
    @app_commands.command(name="consent", description="Answer the consent check")
    @app_commands.describe(
        choice="Endorse, agree with reservations, stand aside, or block",
        reason="Why (a block needs a reason; leave it out to write it in a form)",
        deliberation=DELIBERATION_HELP,
    )
    @app_commands.choices(choice=[app_commands.Choice(name=CONSENT_LABELS[c], value=c.value) for c in ConsentChoice])
    async def consent(
        self,
        interaction: discord.Interaction[Any],
        choice: app_commands.Choice[str],
        reason: str | None = None,
        deliberation: int | None = None,
    ) -> None:
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        answer = ConsentChoice(choice.value)
        if answer is ConsentChoice.BLOCK and reason is None:
            await open_reason_modal(interaction, deliberation_id, answer)
            return
        await give_consent(interaction, deliberation_id, answer, reason or "")

    @app_commands.guild_only()
    @app_commands.command(name="respond", description="Respond to a position, statement or objection")
    @app_commands.describe(
        to="The number of what you respond to (#3 on its post)",
        text="Your response; leave out to write it in a form",
        deliberation=DELIBERATION_HELP,
    )
    async def respond(
        self,
        interaction: discord.Interaction[Any],
        to: app_commands.Range[int, 1],
        text: str | None = None,
        deliberation: int | None = None,
    ) -> None:
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        if text is None:
            await open_response_modal(interaction, deliberation_id, to)
            return
        actor = actor_of(interaction)
        await perform(interaction, deliberation_id, lambda d, at: d.respond(actor, text, to, at), _replies.response)

    @commands.Cog.listener()
    async def on_roundtable_change(self, guild_id: int, change: Change) -> None:
        """A draft's post lists its critiques and revisions: refresh it when one is added (by a
        member's form or an AI turn; the new post itself is a reply to the draft's)."""
        d = change.deliberation
        drafts = []
        for i in change.added():
            c = d.contributions.get(i)
            if c is not None and c.kind is ContributionKind.CRITIQUE and c.reply_to is not None:
                drafts.append(c.reply_to)
            elif c is not None and c.revises is not None:
                drafts.append(c.revises)
        for draft in dict.fromkeys(drafts):
            await refresh_later_if_failed(self.bot, guild_id, d.id, draft)  # tried again if Discord fails it
