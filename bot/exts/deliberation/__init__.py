"""`/deliberation start|status|advance|extend|cancel|join|ai-optout`, the agenda, round announcements,
reminders and the sealed record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.deliberation._cog import Deliberations
from bot.exts.deliberation._views import DYNAMIC_ITEMS

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    await bot.add_cog(Deliberations(bot))
