"""`/dissent`: the moderator's dissent panel, and the dissent map posted when a dissent round closes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.dissent._cog import Dissent

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(Dissent(bot))
