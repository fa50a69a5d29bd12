"""The proposal before the group, as announced in the deliberation."""

from __future__ import annotations

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.record import authorship

PROPOSAL_COLOUR = discord.Colour.gold()


def proposal_embed(d: Deliberation) -> discord.Embed:
    p = d.proposal
    assert p is not None
    text = p.text if len(p.text) <= 4000 else p.text[:3999] + "…"
    embed = discord.Embed(title="Proposal before the group", description=text, colour=PROPOSAL_COLOUR, timestamp=p.at)
    embed.add_field(name="Authorship", value=authorship(d)[:1024], inline=False)
    embed.set_footer(text=f"Deliberation #{d.id} · the consent round decides; members only are counted")
    return embed
