"""The moderator's `/dissent` panel, and the dissent map posted when a dissent round closes.

The analysis and the charts are CPU work: they run on the bot's worker threads through
`bot.run_blocking`, from a snapshot taken on the event loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.analysis import KSmoother
from bot.engine.errors import RoundtableError
from bot.engine.templates import RoundKind
from bot.exts._shared.checks import moderator_only
from bot.exts._shared.lookup import actor_of, guild_id_of, resolve_deliberation
from bot.exts._shared.messages import safe_respond, safe_send
from bot.exts._shared.posting import deliberation_channel
from bot.exts.dissent import _embeds
from bot.exts.dissent._map import DissentMap, compute, snapshot
from bot.service import Change

if TYPE_CHECKING:
    from bot.app import RoundtableBot
    from bot.engine.deliberation import Deliberation

log = logging.getLogger(__name__)


class Dissent(commands.Cog):
    def __init__(self, bot: RoundtableBot) -> None:
        self.bot = bot
        # Polis holds back a change in the number of groups until it persists; keep its state
        # per deliberation between recomputations (memory only: a restart starts afresh).
        self._smoothers: dict[tuple[int, int], KSmoother] = {}

    async def _map(self, guild_id: int, d: Deliberation, *, reveal: bool) -> DissentMap:
        snap = snapshot(d, reveal=reveal, smoother=self._smoothers.get((guild_id, d.id)))
        dmap = await self.bot.run_blocking(compute, snap, reason="computing the dissent map")
        if dmap.analysis is not None:
            self._smoothers[(guild_id, d.id)] = dmap.analysis.smoother
        return dmap

    @app_commands.command(name="dissent", description="The dissent panel: objections, who is silent, what divides")
    @app_commands.guild_only()
    @app_commands.describe(deliberation="Which deliberation (by number); defaults to the one in this thread or channel")
    @moderator_only()
    async def dissent_command(self, interaction: discord.Interaction[Any], deliberation: int | None = None) -> None:
        guild_id = guild_id_of(interaction)
        deliberation_id = await resolve_deliberation(self.bot, interaction, deliberation)
        await interaction.response.defer(ephemeral=True, thinking=True)
        d = await self.bot.roundtable.get(guild_id, deliberation_id)
        # Aliases stay aliases unless the deliberation lets its own moderator see behind them.
        reveal = d.reveals_to(actor_of(interaction).key)
        dmap = await self._map(guild_id, d, reveal=reveal)
        panel = _embeds.panel_embed(dmap.snapshot, revealed=reveal)
        title = f"Dissent map · deliberation #{d.id}"
        embeds = [panel, *_embeds.map_embeds(dmap, title=title, budget=_embeds.MESSAGE_BUDGET - len(panel))]
        await safe_respond(interaction, embeds=embeds, files=_embeds.files(dmap), ephemeral=True)

    @commands.Cog.listener()
    async def on_roundtable_change(self, guild_id: int, change: Change) -> None:
        """At the end of a dissent round, post the dissent map in the deliberation."""
        d = change.deliberation
        closed = change.rounds_closed
        if not any(d.rounds[index].kind is RoundKind.DISSENT for index in closed):
            return
        try:
            channel = await deliberation_channel(self.bot, guild_id, d.id)
        except (LookupError, RoundtableError, discord.HTTPException) as exc:
            log.warning("Deliberation %s: nowhere to post the dissent map (%s)", d.id, type(exc).__name__)
            return
        dmap = await self._map(guild_id, d, reveal=False)
        embeds = _embeds.map_embeds(dmap, title=f"Dissent map · end of the dissent round · deliberation #{d.id}")
        await safe_send(channel, embeds=embeds, files=_embeds.files(dmap))
        log.info("Posted the dissent map of deliberation %s", d.id)
