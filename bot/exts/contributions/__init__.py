"""Contributions: positions, statements, objections, votes and consent, by command, button and modal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.contributions._cog import Contributions
from bot.exts.contributions._views import DYNAMIC_ITEMS

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    # Registered on every start: old messages' buttons keep working after a restart.
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(Contributions(bot))
