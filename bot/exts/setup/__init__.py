"""`/roundtable setup`: a guild's moderator role, archive channel and AI switch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.setup._cog import GuildSetup

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    await bot.add_cog(GuildSetup(bot))
