"""Modals for what members write: a position, an objection, a statement, a block's reason."""

from __future__ import annotations

from typing import Any, ClassVar

import discord

from bot.engine.model import (
    REASON_MAX,
    STANCE_MAX,
    STATEMENT_MAX,
    TEXT_MAX,
    ConsentChoice,
    Contribution,
    ObjectionStatus,
)
from bot.exts._shared.components import RoundtableModal
from bot.exts._shared.lookup import actor_of, moderator_of
from bot.exts.contributions import _replies
from bot.exts.contributions._flow import perform

# Stable ids: tests and the simulator fill inputs by custom_id.
STANCE_INPUT = "stance"
REASONING_INPUT = "reasoning"
WHAT_INPUT = "what"
WHY_INPUT = "why"
STATEMENT_INPUT = "statement"
REASON_INPUT = "reason"
RESPONSE_INPUT = "response"
MOVE_REASON_INPUT = "move_reason"
CRITIQUE_INPUT = "critique"


class PositionModal(RoundtableModal, title="Your position"):
    """Stance and reasoning; pre-filled with the member's current position when editing."""

    def __init__(
        self,
        deliberation_id: int,
        current: Contribution | None = None,
        *,
        stance: str | None = None,
        reasoning: str | None = None,
    ) -> None:
        super().__init__(title="Edit your position" if current else "Your position", timeout=900)
        self.deliberation_id = deliberation_id
        self.stance: discord.ui.TextInput[PositionModal] = discord.ui.TextInput(
            custom_id=STANCE_INPUT,
            style=discord.TextStyle.short,
            max_length=STANCE_MAX,
            placeholder="e.g. Support, Oppose, Support with changes",
            default=stance if stance is not None else (current.stance if current else None),
        )
        self.reasoning: discord.ui.TextInput[PositionModal] = discord.ui.TextInput(
            custom_id=REASONING_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=TEXT_MAX,
            placeholder="Why you hold this position",
            default=reasoning if reasoning is not None else (current.text if current else None),
        )
        self.add_item(
            discord.ui.Label(text="Stance", description="Your position in a few words", component=self.stance)
        )
        self.add_item(discord.ui.Label(text="Reasoning", component=self.reasoning))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        actor = actor_of(interaction)
        stance, reasoning = self.stance.value, self.reasoning.value
        await perform(
            interaction,
            self.deliberation_id,
            lambda d, at: d.state_position(actor, stance, reasoning, at),
            _replies.position,
        )


class ObjectionModal(RoundtableModal, title="Raise an objection"):
    def __init__(self, deliberation_id: int, *, target: int | None = None) -> None:
        super().__init__(timeout=900)
        self.deliberation_id = deliberation_id
        self.target = target
        self.what: discord.ui.TextInput[ObjectionModal] = discord.ui.TextInput(
            custom_id=WHAT_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=TEXT_MAX,
            placeholder="What you object to",
        )
        self.why: discord.ui.TextInput[ObjectionModal] = discord.ui.TextInput(
            custom_id=WHY_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=TEXT_MAX,
            placeholder="Why, and what would have to change",
        )
        self.add_item(discord.ui.Label(text="What", component=self.what))
        self.add_item(discord.ui.Label(text="Why", component=self.why))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        actor = actor_of(interaction)
        what, why, target = self.what.value, self.why.value, self.target
        await perform(
            interaction,
            self.deliberation_id,
            lambda d, at: d.object(actor, what, why, at, target=target),
            _replies.objection,
        )


class StatementModal(RoundtableModal, title="Add a statement"):
    def __init__(self, deliberation_id: int) -> None:
        super().__init__(timeout=900)
        self.deliberation_id = deliberation_id
        self.text: discord.ui.TextInput[StatementModal] = discord.ui.TextInput(
            custom_id=STATEMENT_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=STATEMENT_MAX,
            placeholder="One clear claim others can agree or disagree with",
        )
        self.add_item(discord.ui.Label(text="Statement", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        actor = actor_of(interaction)
        text = self.text.value
        await perform(
            interaction, self.deliberation_id, lambda d, at: d.state_statement(actor, text, at), _replies.statement
        )


class ConsentReasonModal(RoundtableModal):
    """The reason for an answer: required for a block (it becomes an objection quoted in the
    record), optional for reservations and standing aside (quoted in the record when given)."""

    TITLES: ClassVar[dict[ConsentChoice, tuple[str, str, str]]] = {
        ConsentChoice.BLOCK: ("Block: say why", "Reason for blocking", "What would have to change for you to consent"),
        ConsentChoice.RESERVATIONS: ("Agree with reservations", "Your reservations (optional)", "What worries you"),
        ConsentChoice.STAND_ASIDE: ("Stand aside", "Why you stand aside (optional)", "Why you step back"),
    }

    def __init__(self, deliberation_id: int, choice: ConsentChoice) -> None:
        title, label, placeholder = self.TITLES[choice]
        super().__init__(title=title, timeout=900)
        self.deliberation_id = deliberation_id
        self.choice = choice
        self.reason: discord.ui.TextInput[ConsentReasonModal] = discord.ui.TextInput(
            custom_id=REASON_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=TEXT_MAX,
            required=choice is ConsentChoice.BLOCK,
            placeholder=placeholder,
        )
        self.add_item(discord.ui.Label(text=label, component=self.reason))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        actor = actor_of(interaction)
        reason, choice = self.reason.value, self.choice
        await perform(
            interaction,
            self.deliberation_id,
            lambda d, at: d.give_consent(actor, choice, at, reason=reason),
            _replies.consent,
        )


class ResponseModal(RoundtableModal, title="Respond"):
    """A reply to a position, statement or objection: posted under it, quoted under it in the record."""

    def __init__(self, deliberation_id: int, target: int) -> None:
        super().__init__(title=f"Respond to #{target}", timeout=900)
        self.deliberation_id = deliberation_id
        self.target = target
        self.text: discord.ui.TextInput[ResponseModal] = discord.ui.TextInput(
            custom_id=RESPONSE_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=TEXT_MAX,
            placeholder="Your answer to it",
        )
        self.add_item(discord.ui.Label(text="Response", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        actor = actor_of(interaction)
        text, target = self.text.value, self.target
        await perform(
            interaction, self.deliberation_id, lambda d, at: d.respond(actor, text, target, at), _replies.response
        )


class MoveReasonModal(RoundtableModal):
    """Why an objection moves: required to mark it addressed (its author is told, with the
    reason, and may reopen it), optional when its author reopens it. Quoted in the record."""

    LOOKS: ClassVar[dict[ObjectionStatus, tuple[str, str, str]]] = {
        ObjectionStatus.ADDRESSED: (
            "Mark objection #{id} addressed",
            "Why is it addressed?",
            "What changed, or where it is answered. Its author is told and may reopen it.",
        ),
        ObjectionStatus.OPEN: (
            "Reopen objection #{id}",
            "Why reopen it? (optional)",
            "What the answer leaves out",
        ),
    }

    def __init__(self, deliberation_id: int, objection_id: int, status: ObjectionStatus) -> None:
        title, label, placeholder = self.LOOKS[status]
        super().__init__(title=title.format(id=objection_id), timeout=900)
        self.deliberation_id = deliberation_id
        self.objection_id = objection_id
        self.status = status
        self.reason: discord.ui.TextInput[MoveReasonModal] = discord.ui.TextInput(
            custom_id=MOVE_REASON_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=REASON_MAX,
            required=status is ObjectionStatus.ADDRESSED,
            placeholder=placeholder,
        )
        self.add_item(discord.ui.Label(text=label, description="Quoted in the record", component=self.reason))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        # Marking addressed is a moderator's call: any member with the guild's moderator rights.
        actor = await moderator_of(interaction.client, interaction)  # type: ignore[arg-type]
        objection, status, reason = self.objection_id, self.status, self.reason.value
        await perform(
            interaction,
            self.deliberation_id,
            lambda d, at: d.move_objection(actor, objection, status, at, reason=reason),
            _replies.moved,
        )


class CritiqueModal(RoundtableModal, title="Critique"):
    """A critique of a draft: posted under it, counted as taking part, quoted in the draft's lineage."""

    def __init__(self, deliberation_id: int, draft_id: int) -> None:
        super().__init__(title=f"Critique draft #{draft_id}", timeout=900)
        self.deliberation_id = deliberation_id
        self.draft_id = draft_id
        self.text: discord.ui.TextInput[CritiqueModal] = discord.ui.TextInput(
            custom_id=CRITIQUE_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=TEXT_MAX,
            placeholder="What the draft gets wrong or leaves out, and what would make it better",
        )
        self.add_item(
            discord.ui.Label(
                text="Critique",
                description="Posted under the draft; the AI participants may revise the draft to answer it",
                component=self.text,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        actor = actor_of(interaction)
        text, draft = self.text.value, self.draft_id
        await perform(
            interaction, self.deliberation_id, lambda d, at: d.critique(actor, text, draft, at), _replies.critique
        )
