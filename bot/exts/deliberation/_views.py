"""The agenda's and the consent round's buttons, and the Remind me toggle.

The buttons are `bot.exts._shared.buttons` classes (each owns its id and look); the subclasses
registered in `setup()` (here and in `bot.exts.contributions`) answer them, also after a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.errors import NeedsConfirmation
from bot.engine.model import ACCEPTS, ConsentChoice
from bot.engine.templates import RoundKind
from bot.exts._shared import buttons
from bot.exts._shared.lookup import actor_of, guild_id_of, moderator_of
from bot.exts._shared.messages import answer_stored, safe_respond
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


def round_view(d: Deliberation, index: int) -> discord.ui.View | None:
    """The buttons of a round's opening message: what that round takes, so no one scrolls back."""
    if not d.is_open or index != d.current:
        return None
    kind = d.rounds[index].kind
    if kind is RoundKind.CONSENT:
        return buttons.components([buttons.ConsentButton(d.id, choice) for choice in ConsentChoice])
    items: list[buttons.PersistentButton] = []
    if "position" in ACCEPTS[kind]:
        items.append(buttons.StatePositionButton(d.id))
    if "objection" in ACCEPTS[kind]:
        items.append(buttons.RaiseObjectionButton(d.id))
    if "statement" in ACCEPTS[kind]:
        items.append(buttons.AddStatementButton(d.id))
    return buttons.components(items)


async def close_round(
    interaction: discord.Interaction[Any], deliberation_id: int, *, force: bool, confirmed: int | None = None
) -> None:
    """Close the current round (or seal the record); if that skips members who have not answered,
    ask the moderator to confirm first, with a button naming the round."""
    bot: RoundtableBot = interaction.client  # type: ignore[assignment]
    guild_id = guild_id_of(interaction)
    actor = await moderator_of(bot, interaction)
    try:
        change = await bot.roundtable.act(
            guild_id, deliberation_id, lambda d, at: d.advance(actor, at, force=force, confirmed=confirmed)
        )
    except NeedsConfirmation as ask:
        view = buttons.components([buttons.ConfirmAdvanceButton(deliberation_id, ask.token, force)])
        await safe_respond(interaction, ask.user_message, view=view, ephemeral=True)
        return
    d = change.deliberation
    if change.sealed:
        reply = "The last round is closed and the decision record is sealed."
    else:
        reply = f"Round {d.current} closed; the {d.round.kind.value} round is open."
    await answer_stored(interaction, reply, ephemeral=True)  # published even when the answer fails
    bot.publish(guild_id, change)


class ConfirmAdvance(buttons.ConfirmAdvanceButton, template=buttons.ConfirmAdvanceButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await close_round(interaction, self.deliberation_id, force=self.force, confirmed=self.round_index)


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
        await answer_stored(interaction, text, ephemeral=True)
        bot.publish(guild_id, change)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (ConfirmAdvance, ToggleReminders)

__all__ = ["DYNAMIC_ITEMS", "ConfirmAdvance", "ToggleReminders", "agenda_view", "close_round", "round_view"]
