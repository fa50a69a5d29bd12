"""Accepted changes, announced to every feature: `publish(bot, guild_id, change)`.

Whatever accepted an action (a slash command, a button, a modal, a deadline closing a round)
calls `publish` once the change is stored. Features listen with

    @commands.Cog.listener()
    async def on_roundtable_change(self, guild_id: int, change: Change) -> None: ...

and react: announce round openings and closings, post the sealed record, let AI participants
speak, post the dissent map. Publishing also keeps the deadline scheduler in step with the
deliberation (a new round, an extension, a close), so no feature has to remember to.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.service import Change

if TYPE_CHECKING:
    from bot.app import RoundtableBot

log = logging.getLogger(__name__)

EVENT_NAME = "roundtable_change"


def reschedule(bot: RoundtableBot, guild_id: int, change: Change) -> None:
    """Schedule the deliberation's current deadline, or drop it once the deliberation ended."""
    d = change.deliberation
    if not change.deadline_moved:
        return
    if d.is_open and d.round.deadline is not None:
        bot.deadlines.schedule(guild_id, d.id, d.round.deadline)
    else:
        bot.deadlines.cancel(d.id)


def publish(bot: RoundtableBot, guild_id: int, change: Change) -> None:
    """Announce an accepted change to every listener (`on_roundtable_change`)."""
    reschedule(bot, guild_id, change)
    log.debug(
        "Change in deliberation %s of guild %s: %s",
        change.deliberation.id,
        guild_id,
        ", ".join(e.kind.value for e in change.events),
    )
    bot.dispatch(EVENT_NAME, guild_id, change)


__all__ = ["EVENT_NAME", "publish", "reschedule"]
