"""`/decisions list | show | search | export`: the guild's archive of sealed decision records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.decisions._cog import Decisions

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(Decisions(bot))
