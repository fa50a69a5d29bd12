"""How a ranking of drafts looks in Discord: its announcement, a member's private menu, its result.

Counts only, never who ranked what; authors of drafts as the deliberation shows them (aliases
when anonymous, AI participants by their label).
"""

from __future__ import annotations

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.ranking import Ranking, drafts_list, ordinal, result_sentence
from bot.exts._shared.posting import FIELD_MAX, fitted

RANKING_COLOUR = discord.Colour.blurple()
EXCERPT = 140


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    line = line if len(line) <= limit else line[: limit - 1] + "…"
    return discord.utils.escape_markdown(line)


def draft_line(d: Deliberation, draft_id: int) -> str:
    c = d.contributions[draft_id]
    return f"**#{c.id}** by {discord.utils.escape_markdown(d.shown_as(c.author))}: {_one_line(c.text, EXCERPT)}"


def plain_excerpt(d: Deliberation, draft_id: int) -> str:
    """A select option's description: plain text (Discord shows it unformatted), at most 100 characters."""
    c = d.contributions[draft_id]
    line = " ".join(f"by {d.shown_as(c.author)}: {c.text}".split())
    return line if len(line) <= 100 else line[:99] + "…"


def ballot_text(ballot: tuple[int, ...]) -> str:
    """`1st #5, 2nd #3`."""
    return ", ".join(f"{ordinal(place)} #{draft}" for place, draft in enumerate(ballot, start=1))


def announcement_embed(d: Deliberation, r: Ranking) -> discord.Embed:
    embed = discord.Embed(
        title=f"Rank the drafts (ranking #{r.number})",
        colour=RANKING_COLOUR,
        description=(
            f"The moderator asks members to rank drafts {drafts_list(r.drafts)}, privately. Click "
            "**Rank the drafts** and choose your 1st choice, then your 2nd, and so on; drafts you leave out "
            "rank below the ones you name. You may change your ballot until the ranking closes; only your "
            "latest counts. AI participants and observers do not rank.\n\n"
            "When it closes the Schulze method counts the members' ballots. The preferred draft is only "
            "a proposal: the moderator still puts a proposal to the group for consent."
        ),
    )
    embed.add_field(name="Drafts", value="\n".join(draft_line(d, i) for i in r.drafts)[:1024], inline=False)
    if r.is_open:
        embed.add_field(name="Ballots so far", value=str(len(r.ballots)), inline=False)
    else:
        embed.add_field(name="Closed", value=f"{len(r.ballots)} ballot(s); the result is posted below.", inline=False)
    return embed


def menu_text(d: Deliberation, r: Ranking, current: tuple[int, ...] | None, chosen: tuple[int, ...]) -> str:
    """A member's private menu: the drafts, their ballot as stored, and the places chosen so far."""
    if d.settings.anonymous:
        privacy = "your ballot is private; only counts are ever shown, and no one can learn who ranked what."
    else:
        # The event log (kept to verify the record offline, and in exports' proof files) holds each ballot.
        privacy = (
            "only counts are shown, in Discord and in the record; the deliberation's event log, kept to "
            "verify the record, holds each member's ballot, as it holds every vote."
        )
    lines = [f"**Ranking #{r.number}**: {privacy}", ""]
    lines += [draft_line(d, i) for i in r.drafts]
    lines.append("")
    lines.append(f"Your ballot now: {ballot_text(current) if current else 'none yet'}.")
    if chosen:
        lines.append(
            f"Ranked so far: {ballot_text(chosen)}. Choose your {ordinal(len(chosen) + 1)} choice, or keep this."
        )
    else:
        lines.append("Choose your 1st choice.")
    return "\n".join(lines)[:2000]


def stored_text(r: Ranking, ballot: tuple[int, ...]) -> str:
    left = [i for i in r.drafts if i not in ballot]
    below = f" Drafts {drafts_list(left)} rank below these, tied." if left else ""
    return (
        f"Your ballot in ranking #{r.number} is stored: {ballot_text(ballot)}.{below} "
        "You may change it until the ranking closes: click **Rank the drafts** again."
    )


def result_embed(d: Deliberation, r: Ranking) -> discord.Embed:
    result = r.result()
    embed = discord.Embed(
        title=f"Ranking #{r.number} of the drafts: result",
        colour=RANKING_COLOUR,
        description=result_sentence(result)
        + (f" Counted by the Schulze method over {result.ballots} member ballot(s)." if result.ballots else ""),
    )
    if result.ballots:
        tiers = [
            f"#{tier[0]}" if len(tier) == 1 else f"{' and '.join(f'#{i}' for i in tier)} (tied)"
            for tier in result.order
        ]
        embed.add_field(name="Order", value=fitted(tiers, FIELD_MAX, ", then "), inline=False)
        pairs = []
        for n, a in enumerate(r.drafts):
            for b in r.drafts[n + 1 :]:
                pairs.append(f"#{a} over #{b}: {result.prefer(a, b)}; #{b} over #{a}: {result.prefer(b, a)}")
        # Every pair whole, then how many more: the sealed record has the full matrix.
        embed.add_field(name="Head to head (ballots)", value=fitted(pairs, FIELD_MAX, "\n"), inline=False)
    if d.is_open and d.round.index == r.round_index and d.round.closed_at is None:
        nxt = (
            "Only a proposal: the moderator puts a proposal to the group with /summary adopt draft:<n> "
            "or /summary propose, and members answer at the consent check."
        )
    else:
        nxt = "The synthesis round has closed; the proposal before the group stays as it was."
    embed.add_field(name="What next", value=nxt, inline=False)
    return embed
