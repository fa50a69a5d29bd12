"""Persistent buttons: each custom id carries the ids it needs, so old messages work after a restart.

The agenda's State position / Raise objection / Add statement buttons, Agree / Disagree / Pass on
positions and statements, an objection's Withdraw / Mark addressed / Reopen, and the consent
scale. The ids' formats live in `bot.exts._shared.posting`, which builds the buttons.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.engine.model import ConsentChoice, Vote
from bot.exts._shared.components import HandledDynamicItem
from bot.exts._shared.lookup import actor_of, guild_id_of
from bot.exts._shared.posting import (
    CONSENT_CODES,
    CONSENT_ID,
    OBJECTION_ACTIONS,
    OBJECTION_ID,
    POSITION_ID,
    RAISE_ID,
    STATEMENT_ID,
    VOTE_CODES,
    VOTE_ID,
)
from bot.exts.contributions import _replies
from bot.exts.contributions._flow import perform
from bot.exts.contributions._modals import BlockModal, ObjectionModal, PositionModal, StatementModal

if TYPE_CHECKING:
    from bot.app import RoundtableBot

_VOTES = {code: vote for vote, code in VOTE_CODES.items()}
_CHOICES = {code: choice for choice, code in CONSENT_CODES.items()}


def _bot(interaction: discord.Interaction[Any]) -> RoundtableBot:
    return interaction.client  # type: ignore[return-value]


async def open_position_modal(
    interaction: discord.Interaction[Any], deliberation_id: int, *, stance: str | None = None,
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


async def open_block_modal(interaction: discord.Interaction[Any], deliberation_id: int) -> None:
    d = await _bot(interaction).roundtable.get(guild_id_of(interaction), deliberation_id)
    d.check_accepts("consent")
    await interaction.response.send_modal(BlockModal(deliberation_id))


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


class StatePositionButton(
    HandledDynamicItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"rt:pos:(?P<deliberation>[0-9]+)"
):
    def __init__(self, deliberation_id: int) -> None:
        super().__init__(discord.ui.Button(label="State position", custom_id=POSITION_ID.format(
            deliberation=deliberation_id)))
        self.deliberation_id = deliberation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> StatePositionButton:
        return cls(int(match["deliberation"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_position_modal(interaction, self.deliberation_id)


class RaiseObjectionButton(
    HandledDynamicItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"rt:raise:(?P<deliberation>[0-9]+)"
):
    def __init__(self, deliberation_id: int) -> None:
        super().__init__(discord.ui.Button(label="Raise objection", custom_id=RAISE_ID.format(
            deliberation=deliberation_id)))
        self.deliberation_id = deliberation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RaiseObjectionButton:
        return cls(int(match["deliberation"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_objection_modal(interaction, self.deliberation_id)


class AddStatementButton(
    HandledDynamicItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"rt:stmt:(?P<deliberation>[0-9]+)"
):
    def __init__(self, deliberation_id: int) -> None:
        super().__init__(discord.ui.Button(label="Add statement", custom_id=STATEMENT_ID.format(
            deliberation=deliberation_id)))
        self.deliberation_id = deliberation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> AddStatementButton:
        return cls(int(match["deliberation"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await open_statement_modal(interaction, self.deliberation_id)


class VoteButton(
    HandledDynamicItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"rt:vote:(?P<deliberation>[0-9]+):(?P<statement>[0-9]+):(?P<vote>[adp])",
):
    def __init__(self, deliberation_id: int, statement_id: int, vote: Vote) -> None:
        custom_id = VOTE_ID.format(deliberation=deliberation_id, statement=statement_id, vote=VOTE_CODES[vote])
        super().__init__(discord.ui.Button(label=vote.value.capitalize(), custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.statement_id = statement_id
        self.vote = vote

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VoteButton:
        return cls(int(match["deliberation"]), int(match["statement"]), _VOTES[match["vote"]])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        actor, statement, vote = actor_of(interaction), self.statement_id, self.vote
        await perform(
            interaction, self.deliberation_id, lambda d, at: d.vote(actor, statement, vote, at), _replies.vote
        )


class ObjectionButton(
    HandledDynamicItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"rt:obj:(?P<deliberation>[0-9]+):(?P<objection>[0-9]+):(?P<action>[war])",
):
    """Withdraw (the author), Mark addressed (the moderator), Reopen (the author)."""

    def __init__(self, deliberation_id: int, objection_id: int, action: str) -> None:
        custom_id = OBJECTION_ID.format(deliberation=deliberation_id, objection=objection_id, action=action)
        super().__init__(discord.ui.Button(label=action, custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.objection_id = objection_id
        self.status = OBJECTION_ACTIONS[action]

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ObjectionButton:
        return cls(int(match["deliberation"]), int(match["objection"]), match["action"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        actor, objection, status = actor_of(interaction), self.objection_id, self.status
        await perform(
            interaction,
            self.deliberation_id,
            lambda d, at: d.move_objection(actor, objection, status, at),
            _replies.moved,
        )


class ConsentButton(
    HandledDynamicItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"rt:consent:(?P<deliberation>[0-9]+):(?P<choice>[ersb])",
):
    """The consent scale; Block opens a modal for the reason."""

    def __init__(self, deliberation_id: int, choice: ConsentChoice) -> None:
        custom_id = CONSENT_ID.format(deliberation=deliberation_id, choice=CONSENT_CODES[choice])
        super().__init__(discord.ui.Button(label=choice.value, custom_id=custom_id))
        self.deliberation_id = deliberation_id
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ConsentButton:
        return cls(int(match["deliberation"]), _CHOICES[match["choice"]])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        if self.choice is ConsentChoice.BLOCK:
            await open_block_modal(interaction, self.deliberation_id)
        else:
            await give_consent(interaction, self.deliberation_id, self.choice)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    StatePositionButton,
    RaiseObjectionButton,
    AddStatementButton,
    VoteButton,
    ObjectionButton,
    ConsentButton,
)
