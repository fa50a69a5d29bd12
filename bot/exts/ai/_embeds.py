"""The proposal before the group, as announced in the deliberation."""

from __future__ import annotations

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.model import ProposalSource
from bot.exts._shared.posting import author_line

PROPOSAL_COLOUR = discord.Colour.gold()


def authorship(d: Deliberation) -> str:
    """Who wrote the proposal and who put it: the record says the same (engine.record)."""
    p = d.proposal
    assert p is not None
    by = d.display_name(p.by)
    if p.source is ProposalSource.HUMAN:
        return f"Written by {by}."
    if p.source is ProposalSource.MOTION:
        return f"The question as asked, put by {by}."
    assert p.draft_id is not None
    draft = d.contributions[p.draft_id]
    drafted = author_line(d, draft.author)
    how = "adopted as is" if p.source is ProposalSource.ADOPTED else "adopted with amendments"
    return f"Draft #{draft.id} by {drafted}, {how} by {by}."


def proposal_embed(d: Deliberation) -> discord.Embed:
    p = d.proposal
    assert p is not None
    text = p.text if len(p.text) <= 4000 else p.text[:3999] + "…"
    embed = discord.Embed(title="Proposal before the group", description=text, colour=PROPOSAL_COLOUR, timestamp=p.at)
    embed.add_field(name="Authorship", value=authorship(d)[:1024], inline=False)
    embed.set_footer(text=f"Deliberation #{d.id} · the consent round decides; members only are counted")
    return embed
