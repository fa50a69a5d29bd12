"""How the dissent map and the moderator's panel look in Discord.

Statements are quoted with their author (or alias, or AI label) and clipped to fit an embed;
the full words are in the posts themselves and, verbatim, in the decision record.
"""

from __future__ import annotations

import io
from datetime import datetime

import discord

from bot.analysis.opinions import DissentAnalysis
from bot.engine.model import ContributionKind
from bot.exts._shared.posting import not_addressed, shown_name
from bot.exts.dissent._map import DissentMap, DissentSnapshot, DraftView, StatementView, thresholds_text

MAP_COLOUR = discord.Colour.dark_orange()
PANEL_COLOUR = discord.Colour.dark_grey()
OPINION_MAP_FILE = "opinion-map.png"
CONSENT_CHART_FILE = "consent-chart.png"
QUOTE_MAX = 160
LIST_MAX = 3
FIELD_MAX = 1024
# Discord allows 6,000 characters over all embeds of one message; keep clear of it.
MESSAGE_BUDGET = 5800
# Kept free in the budget for the fields that come after (groups summary, notes).
RESERVE = 200
# One draft's line in the moderator's panel: every id whole, then how many more.
DRAFT_LINE_MAX = 500
GROUP_NAMES = "ABCDEFGH"


def clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def quoted(s: StatementView) -> str:
    what = "Position" if s.kind is ContributionKind.POSITION else "Statement"
    stance = f" ({clip(s.stance, 60)})" if s.stance else ""
    return f"**#{s.id}** {what} by {clip(s.author, 80)}{stance}:\n> {clip(s.text, QUOTE_MAX)}"


def counts(s: StatementView) -> str:
    return f"agree {s.agree} · disagree {s.disagree} · pass {s.passed}"


def _field(embed: discord.Embed, name: str, lines: list[str], empty: str, *, budget: int) -> None:
    """Add a field of `lines`, as many as fit in the field and in what is left of `budget`."""
    limit = min(FIELD_MAX, budget - len(embed) - len(name) - RESERVE)
    if limit < 80:
        return
    value = ""
    for n, line in enumerate(lines):
        candidate = (value + "\n\n" if value else "") + line
        if len(candidate) + 20 > limit:
            value = (value + "\n" if value else "") + f"…and {len(lines) - n} more"
            break
        value = candidate
    embed.add_field(name=name, value=value or empty, inline=False)


def contested(snap: DissentSnapshot) -> list[StatementView]:
    """Without opinion groups: statements with both agreement and disagreement, most evenly split first."""
    split = [s for s in snap.statements.values() if s.agree and s.disagree]
    split.sort(key=lambda s: (-min(s.agree, s.disagree) / (s.agree + s.disagree), -(s.agree + s.disagree), s.id))
    return split


def uniting(snap: DissentSnapshot, analysis: DissentAnalysis | None) -> list[StatementView]:
    if analysis is not None:
        ids = [sid for sid in analysis.consensus if isinstance(sid, int)]
    else:
        ids = sorted(snap.statements, key=lambda i: -(snap.statements[i].agree - snap.statements[i].disagree))
    # A statement "unites" only if more than half of those who voted on it agree.
    views = [snap.statements[i] for i in ids if i in snap.statements]
    return [s for s in views if s.agree * 2 > s.agree + s.disagree + s.passed]


def dividing(snap: DissentSnapshot, analysis: DissentAnalysis | None) -> list[StatementView]:
    if analysis is not None and analysis.groups:
        return [snap.statements[i] for i in analysis.divisive if isinstance(i, int) and i in snap.statements]
    return contested(snap)


def objection_lines(snap: DissentSnapshot) -> list[str]:
    return [
        f"**{'Block' if o.from_block else 'Objection'} #{o.id}** by {shown_name(o.author)}:\n"
        f"> {clip(o.what, 150)}\nWhy: {clip(o.why, 150)}"
        for o in snap.open_objections
    ]


def group_fields(embed: discord.Embed, dmap: DissentMap, *, budget: int) -> None:
    snap, analysis = dmap.snapshot, dmap.analysis
    if analysis is None or not analysis.groups:
        why = analysis.reason if analysis is not None else "no votes yet"
        embed.add_field(
            name="Opinion groups",
            value=clip(f"Too few votes for opinion groups: {why}. {thresholds_text()}", FIELD_MAX),
            inline=False,
        )
        return
    clustered = sum(len(g.members) for g in analysis.groups)
    left_out = len(analysis.left_out)
    summary = f"{len(analysis.groups)} groups among {clustered} members"
    if left_out:
        summary += f"; {left_out} not placed in a group (too few votes)"
    embed.add_field(name="Opinion groups", value=summary + ".", inline=False)
    for group in analysis.groups[:5]:
        lines = []
        for rep in group.representative[:LIST_MAX]:
            s = snap.statements.get(rep.statement_id) if isinstance(rep.statement_id, int) else None
            if s is None:
                continue
            share = round(100 * rep.n_success / rep.n_trials) if rep.n_trials else 0
            lines.append(f"{share}% {'agree' if rep.repful_for == 'agree' else 'disagree'} with {quoted(s)}")
        name = f"Group {GROUP_NAMES[group.group_id % len(GROUP_NAMES)]} · {len(group.members)} member(s)"
        _field(embed, name, lines, "No statement sets this group apart yet.", budget=budget)


def map_embeds(dmap: DissentMap, *, title: str, budget: int = MESSAGE_BUDGET) -> list[discord.Embed]:
    """The dissent map: objections, what unites, what divides, the groups, and both pictures.

    `budget` is what the message's other embeds leave of Discord's 6,000 characters.
    """
    snap = dmap.snapshot
    chart = discord.Embed(
        title="Consent so far (members only)",
        description="AI stances are shown apart, labelled, and never counted.",
        colour=MAP_COLOUR,
    )
    chart.set_image(url=f"attachment://{CONSENT_CHART_FILE}")
    budget -= len(chart)
    embed = discord.Embed(title=clip(title, 256), colour=MAP_COLOUR)
    embed.description = clip(
        f"{snap.question}\n\n{len(snap.votes)} vote(s) from {dmap.voters} member(s) on "
        f"{len(snap.statements)} statement(s). AI participants never vote; their positions can be voted on.",
        600,
    )
    for note in dmap.errors:
        embed.add_field(name="Note", value=note, inline=False)
    # Each list gets its share, so the groups at the end still fit.
    share = min(FIELD_MAX, (budget - len(embed)) // 5)
    _field(
        embed,
        f"Open objections ({len(snap.open_objections)})",
        objection_lines(snap),
        "None open.",
        budget=len(embed) + share + RESERVE + 40,
    )
    _field(
        embed,
        "Statements that unite",
        [f"{quoted(s)}\n{counts(s)}" for s in uniting(snap, dmap.analysis)[:LIST_MAX]],
        "None yet: no statement has most of its voters agreeing.",
        budget=len(embed) + share + RESERVE + 40,
    )
    divide_name = "Statements that divide" + ("" if dmap.analysis and dmap.analysis.groups else " (by vote counts)")
    _field(
        embed,
        divide_name,
        [f"{quoted(s)}\n{counts(s)}" for s in dividing(snap, dmap.analysis)[:LIST_MAX]],
        "None yet: no statement has both agreement and disagreement.",
        budget=len(embed) + share + RESERVE + 40,
    )
    group_fields(embed, dmap, budget=budget)
    if dmap.opinion_map is not None:
        embed.set_image(url=f"attachment://{OPINION_MAP_FILE}")
    return [embed, chart]


def panel_embed(snap: DissentSnapshot, *, revealed: bool) -> discord.Embed:
    """What only the moderator sees first: where the round stands and who has not spoken."""
    embed = discord.Embed(title=clip(f"Dissent panel · deliberation #{snap.deliberation_id}", 256), colour=PANEL_COLOUR)
    when = f", closes {_when(snap.round_deadline)}" if snap.round_deadline else ""
    embed.description = f"Round: {snap.round_kind}{when}. {len(snap.members)} member(s) taking part."
    silent = ", ".join(clip(name, 60) for name in snap.silent)
    embed.add_field(
        name=f"Not yet spoken ({len(snap.silent)})",
        value=clip(silent, FIELD_MAX) or "Everyone has spoken.",
        inline=False,
    )
    _field(
        embed,
        f"Drafts ({len(snap.drafts)})",
        [draft_line(draft) for draft in snap.drafts],
        "No draft yet.",
        budget=len(embed) + FIELD_MAX + RESERVE + 40,
    )
    if revealed:
        embed.set_footer(text="Names are shown because this deliberation reveals aliases to its moderator.")
    return embed


def draft_line(draft: DraftView) -> str:
    """ "Draft #9 by Sage (before the group) · Not addressed: #5 (Grace)": what it leaves open, before it is put."""
    put = " (before the group)" if draft.before_the_group else ""
    head = f"**Draft #{draft.id}** by {shown_name(draft.author)}{put} · "
    if not draft.not_addressed:
        return head + "Answers every open objection and minority position."
    return head + "Not addressed: " + not_addressed(draft.not_addressed, DRAFT_LINE_MAX - len(head) - 15)


def _when(at: datetime) -> str:
    return discord.utils.format_dt(at, "R")


def files(dmap: DissentMap) -> list[discord.File]:
    out = []
    if dmap.opinion_map is not None:
        out.append(discord.File(io.BytesIO(dmap.opinion_map), filename=OPINION_MAP_FILE))
    out.append(discord.File(io.BytesIO(dmap.consent_chart), filename=CONSENT_CHART_FILE))
    return out
