"""Ranked drafts: the moderator opens a ranking (`/summary rank`), members rank privately, Schulze counts.

The `/summary rank` command sits with the other `/summary` commands (bot.exts.ai) and calls
`ranking_command`; the menus, buttons and posts are here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.ranking._flow import post_announcement, post_result, ranking_command
from bot.exts.ranking._views import DYNAMIC_ITEMS

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    # Registered on every start: old announcements and half-built private menus keep working.
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    bot.courier.register("ranking", lambda guild_id, d, ref: post_announcement(bot, guild_id, d, ref))
    bot.courier.register("ranking-result", lambda guild_id, d, ref: post_result(bot, guild_id, d, ref))


__all__ = ["ranking_command", "setup"]
