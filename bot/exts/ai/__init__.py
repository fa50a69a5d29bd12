"""AI participants in Discord: `/ai speak`, `/summary draft | adopt | propose`, and AI positions
that come on their own once the humans have spoken (or at half-time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.ai._cog import AIParticipants

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    cog = AIParticipants(bot)
    await bot.add_cog(cog)
    bot.courier.register("ai-notice", cog.post_notice)
