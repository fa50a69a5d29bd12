"""The agenda's and the consent round's buttons, and the Remind me toggle.

The buttons are plain components built from `bot.exts._shared.posting`'s id templates; the
DynamicItems registered in `setup()` (here and in `bot.exts.contributions`) answer them, also
after a restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.model import CONSENT_LABELS, ConsentChoice
from bot.exts._shared.changes import publish
from bot.exts._shared.components import HandledDynamicItem
from bot.exts._shared.lookup import actor_of, guild_id_of
from bot.exts._shared.messages import safe_respond
from bot.exts._shared.posting import (
    CONSENT_CODES,
    CONSENT_ID,
    POSITION_ID,
    RAISE_ID,
    REMIND_ID,
    STATEMENT_ID,
    components,
)
from bot.exts.deliberation._embeds import takes

if TYPE_CHECKING:
    from bot.app import RoundtableBot


def agenda_view(d: Deliberation) -> discord.ui.View | None:
    if not d.is_open:
        return None
    buttons: list[discord.ui.Button[Any]] = [
        discord.ui.Button(label="State position", style=discord.ButtonStyle.primary,
                          custom_id=POSITION_ID.format(deliberation=d.id)),
    ]
    if takes(d, "objection"):
        buttons.append(discord.ui.Button(label="Raise objection", style=discord.ButtonStyle.danger,
                                         custom_id=RAISE_ID.format(deliberation=d.id)))
    if takes(d, "statement"):
        buttons.append(discord.ui.Button(label="Add statement", style=discord.ButtonStyle.secondary,
                                         custom_id=STATEMENT_ID.format(deliberation=d.id)))
    buttons.append(discord.ui.Button(label="Remind me", style=discord.ButtonStyle.secondary,
                                     custom_id=REMIND_ID.format(deliberation=d.id)))
    return components(buttons)


CONSENT_STYLES = {
    ConsentChoice.ENDORSE: discord.ButtonStyle.success,
    ConsentChoice.RESERVATIONS: discord.ButtonStyle.primary,
    ConsentChoice.STAND_ASIDE: discord.ButtonStyle.secondary,
    ConsentChoice.BLOCK: discord.ButtonStyle.danger,
}
CONSENT_BUTTON_LABELS = {
    ConsentChoice.ENDORSE: "Endorse",
    ConsentChoice.RESERVATIONS: "Reservations",
    ConsentChoice.STAND_ASIDE: "Stand aside",
    ConsentChoice.BLOCK: "Block",
}


def consent_view(d: Deliberation) -> discord.ui.View | None:
    return components(
        [
            discord.ui.Button(
                label=CONSENT_BUTTON_LABELS[choice],
                style=CONSENT_STYLES[choice],
                custom_id=CONSENT_ID.format(deliberation=d.id, choice=CONSENT_CODES[choice]),
            )
            for choice in ConsentChoice
        ]
    )


class RemindButton(
    HandledDynamicItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"rt:remind:(?P<deliberation>[0-9]+)"
):
    """Each member's own switch: a mention when a round opens, or none."""

    def __init__(self, deliberation_id: int) -> None:
        super().__init__(discord.ui.Button(label="Remind me", custom_id=REMIND_ID.format(deliberation=deliberation_id)))
        self.deliberation_id = deliberation_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RemindButton:
        return cls(int(match["deliberation"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: RoundtableBot = interaction.client  # type: ignore[assignment]
        guild_id = guild_id_of(interaction)
        actor = actor_of(interaction)
        d = await bot.roundtable.get(guild_id, self.deliberation_id)
        p = d.participant(actor.key)
        on = not (p is not None and p.reminders)
        change = await bot.roundtable.act(guild_id, self.deliberation_id, lambda d, at: d.set_reminders(actor, on, at))
        if on:
            text = "Reminders on: you will be mentioned when each round of this deliberation opens. Click to stop."
        else:
            text = "Reminders off: no more mentions from this deliberation."
        await safe_respond(interaction, text, ephemeral=True)
        publish(bot, guild_id, change)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (RemindButton,)

__all__ = ["CONSENT_LABELS", "DYNAMIC_ITEMS", "RemindButton", "agenda_view", "consent_view"]
