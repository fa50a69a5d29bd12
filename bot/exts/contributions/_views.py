"""Persistent buttons: each custom id carries the ids it needs, so old messages work after a restart.

The agenda's State position / Raise objection / Add statement buttons, Agree / Disagree / Pass on
positions and statements, an objection's Withdraw / Mark addressed / Reopen, and the consent
scale. Each button's id and look live in `bot.exts._shared.buttons`; here is what a click does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.engine.model import ConsentChoice
from bot.exts._shared import buttons
from bot.exts._shared.lookup import actor_of, guild_id_of, moderator_of
from bot.exts.contributions import _replies
from bot.exts.contributions._flow import perform
from bot.exts.contributions._modals import (
    ConsentReasonModal,
    CritiqueModal,
    MoveReasonModal,
    ObjectionModal,
    PositionModal,
    ResponseModal,
    StatementModal,
)

if TYPE_CHECKING:
    from bot.app import RoundtableBot


def _bot(interaction: discord.Interaction[Any]) -> RoundtableBot:
    return interaction.client  # type: ignore[return-value]


async def open_position_modal(
    interaction: discord.Interaction[Any],
    deliberation_id: int,
    *,
    stance: str | None = None,
    reasoning: str | None = None,
) -> None:
    """The position modal, refused up front in a round that takes no positions."""
    d = await _bot(interaction).roundtable.get(guild_id_of(interaction), deliberation_id)
    d.check_accepts("position")
    current = d.position_of(actor_of(interaction).key)
    await interaction.response.send_modal(PositionModal(deliberation_id, current, stance=stance, reasoning=reasoning))


async def open_objection_modal(
    interaction: discord.Interaction[Any], deliberation_id: int, *, target: int | None = None
) -> None:
    d = await _bot(interaction).roundtable.get(guild_id_of(interaction), deliberation_id)
    d.check_accepts("objection")
    await interaction.response.send_modal(ObjectionModal(deliberation_id, target=target))


async def open_statement_modal(interaction: discord.Interaction[Any], deliberation_id: int) -> None:
    d = await _bot(interaction).roundtable.get(guild_id_of(interaction), deliberation_id)
    d.check_accepts("statement")
    await interaction.response.send_modal(StatementModal(deliberation_id))


async def open_reason_modal(interaction: discord.Interaction[Any], deliberation_id: int, choice: ConsentChoice) -> None:
    d = await _bot(interaction).roundtable.get(guild_id_of(interaction), deliberation_id)
    d.check_accepts("consent")
    await interaction.response.send_modal(ConsentReasonModal(deliberation_id, choice))


async def open_response_modal(interaction: discord.Interaction[Any], deliberation_id: int, target: int) -> None:
    """The response form, refused up front outside the round for responses or for what takes none."""
    d = await _bot(interaction).roundtable.get(guild_id_of(interaction), deliberation_id)
    d.check_respond(actor_of(interaction), target)
    await interaction.response.send_modal(ResponseModal(deliberation_id, target))


async def open_critique_modal(interaction: discord.Interaction[Any], deliberation_id: int, draft_id: int) -> None:
    """The critique form, refused up front outside the synthesis round, to observers, or for what is no draft."""
    d = await _bot(interaction).roundtable.get(guild_id_of(interaction), deliberation_id)
    d.check_critique(actor_of(interaction), draft_id)
    await interaction.response.send_modal(CritiqueModal(deliberation_id, draft_id))


async def give_consent(
    interaction: discord.Interaction[Any], deliberation_id: int, choice: ConsentChoice, reason: str = ""
) -> None:
    actor = actor_of(interaction)
    await perform(
        interaction,
        deliberation_id,
        lambda d, at: d.give_consent(actor, choice, at, reason=reason),
        _replies.consent,
    )


class StatePosition(buttons.StatePositionButton, template=buttons.StatePositionButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_position_modal(interaction, self.deliberation_id)


class RaiseObjection(buttons.RaiseObjectionButton, template=buttons.RaiseObjectionButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_objection_modal(interaction, self.deliberation_id)


class AddStatement(buttons.AddStatementButton, template=buttons.AddStatementButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_statement_modal(interaction, self.deliberation_id)


class CastVote(buttons.VoteButton, template=buttons.VoteButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        actor, statement, vote = actor_of(interaction), self.statement_id, self.vote
        await perform(
            interaction, self.deliberation_id, lambda d, at: d.vote(actor, statement, vote, at), _replies.vote
        )


class MoveObjection(buttons.ObjectionButton, template=buttons.ObjectionButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        # Marking addressed is a moderator's call: any member with the guild's moderator rights.
        actor = await moderator_of(_bot(interaction), interaction)
        objection, status = self.objection_id, self.status
        if status in MoveReasonModal.LOOKS:
            # Addressed asks why (its author is told); reopening may say why. Refused up front,
            # before the form opens, for whoever may not move it.
            d = await _bot(interaction).roundtable.get(guild_id_of(interaction), self.deliberation_id)
            d.check_move(actor, objection, status)
            await interaction.response.send_modal(MoveReasonModal(self.deliberation_id, objection, status))
            return
        await perform(
            interaction,
            self.deliberation_id,
            lambda d, at: d.move_objection(actor, objection, status, at),
            _replies.moved,
        )


class AnswerConsent(buttons.ConsentButton, template=buttons.ConsentButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        if self.choice is ConsentChoice.ENDORSE:
            await give_consent(interaction, self.deliberation_id, self.choice)
        else:  # a block needs a reason; reservations and standing aside may give one
            await open_reason_modal(interaction, self.deliberation_id, self.choice)


class Respond(buttons.RespondButton, template=buttons.RespondButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_response_modal(interaction, self.deliberation_id, self.target)


class Critique(buttons.CritiqueButton, template=buttons.CritiqueButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_critique_modal(interaction, self.deliberation_id, self.draft_id)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    StatePosition,
    RaiseObjection,
    AddStatement,
    CastVote,
    MoveObjection,
    AnswerConsent,
    Respond,
    Critique,
)
