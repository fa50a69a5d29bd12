"""The moderator's proposal text: written by hand, or a draft amended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.engine.model import TEXT_MAX
from bot.exts._shared.components import RoundtableModal

# Called with the submitting interaction and the text once the moderator sends the form.
OnProposal = Callable[[discord.Interaction[Any], str], Awaitable[None]]

# Stable ids: tests and the simulator fill inputs by custom_id.
PROPOSAL_INPUT = "proposal"


class ProposalModal(RoundtableModal):
    """One paragraph input. Its bound is Discord's (4,000); the engine checks empty and length."""

    def __init__(self, on_submit: OnProposal, *, draft_id: int | None = None, text: str | None = None) -> None:
        title = f"Amend draft #{draft_id}" if draft_id is not None else "Your proposal"
        super().__init__(title=title, timeout=900)
        self._on_submit = on_submit
        self.text: discord.ui.TextInput[ProposalModal] = discord.ui.TextInput(
            custom_id=PROPOSAL_INPUT,
            style=discord.TextStyle.paragraph,
            max_length=TEXT_MAX,
            default=text,
            placeholder="The proposal the group will answer in the consent round",
        )
        description = (
            "Change what needs changing; the record says it was amended, and by whom"
            if draft_id is not None
            else "Written by you; the record says so"
        )
        self.add_item(discord.ui.Label(text="Proposal", description=description, component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self._on_submit(interaction, self.text.value)
