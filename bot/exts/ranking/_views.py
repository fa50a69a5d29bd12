"""What a click in a ranking does: the button opens a member's menu, each place chosen moves it on.

Each component's id and look live in `bot.exts._shared.buttons`; the flow is `_flow`.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.exts._shared import buttons
from bot.exts.ranking import _flow


class RankDrafts(buttons.RankDraftsButton, template=buttons.RankDraftsButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await _flow.open_menu(interaction, self.deliberation_id, self.ranking)


class ChoosePlace(buttons.RankPlaceMenu, template=buttons.RankPlaceMenu.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        values = [str(v) for v in self.item.values]
        await _flow.choose(interaction, self.deliberation_id, self.ranking, self.chosen, values)


class KeepBallot(buttons.KeepBallotButton, template=buttons.KeepBallotButton.answers()):
    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await _flow.keep(interaction, self.deliberation_id, self.ranking, self.chosen)


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (RankDrafts, ChoosePlace, KeepBallot)
