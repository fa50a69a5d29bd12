"""Contributions: positions, statements, objections, votes and consent, by command, button and modal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts._shared.posting import post_contribution, post_objection
from bot.exts.contributions._cog import Contributions
from bot.exts.contributions._notes import ADDRESSED_REF, tell_author
from bot.exts.contributions._views import DYNAMIC_ITEMS

if TYPE_CHECKING:
    from bot.app import RoundtableBot


async def setup(bot: RoundtableBot) -> None:
    # Registered on every start: old messages' buttons keep working after a restart.
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    # Contributions and objections, the outbox's `c:` and `o:` posts, look the same whoever made
    # them, members or AI participants (bot.exts._shared.posting).
    bot.courier.register("c", lambda guild_id, d, ref: post_contribution(bot, guild_id, d, ref))
    bot.courier.register("o", lambda guild_id, d, ref: post_objection(bot, guild_id, d, ref))
    # An objection marked addressed: its author is told who and why, and that they may reopen it.
    bot.courier.register(ADDRESSED_REF, lambda guild_id, d, ref: tell_author(bot, guild_id, d, ref))
    await bot.add_cog(Contributions(bot))
