"""The agenda's and the consent round's buttons, and the Remind me toggle.

The buttons are `bot.exts._shared.buttons` classes (each owns its id and look); the subclasses
registered in `setup()` (here and in `bot.exts.contributions`) answer them, also after a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.model import ConsentChoice
from bot.exts._shared import buttons
from bot.exts._shared.lookup import actor_of, guild_id_of
from bot.exts._shared.messages import safe_respond
from bot.exts.deliberation._embeds import takes

if TYPE_CHECKING:
    from bot.app import RoundtableBot


def agenda_view(d: Deliberation) -> discord.ui.View | None:
    if not d.is_open:
        return None
    items: list[buttons.PersistentButton] = [buttons.StatePositionButton(d.id)]
    if takes(d, "objection"):
        items.append(buttons.RaiseObjectionButton(d.id))
    if takes(d, "statement"):
        items.append(buttons.AddStatementButton(d.id))
    items.append(buttons.RemindButton(d.id))
    return buttons.components(items)


def consent_view(d: Deliberation) -> discord.ui.View | None:
    return buttons.components([buttons.ConsentButton(d.id, choice) for choice in ConsentChoice])


class ToggleReminders(buttons.RemindButton, template=buttons.RemindButton.answers()):
    """Each member's own switch: a mention when a round opens, or none."""

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
        bot.publish(guild_id, change)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (ToggleReminders,)

__all__ = ["DYNAMIC_ITEMS", "ToggleReminders", "agenda_view", "consent_view"]
