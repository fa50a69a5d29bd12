"""How sealed decision records look in Discord: a summary embed, the full text as files.

An embed holds at most 6,000 characters, so the embed summarises and clips (saying so);
the attached Markdown and JSON carry the record verbatim, dissent included.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.engine.outcome import OUTCOME_LABELS, OutcomeKind
from bot.service import RecordSummary

RECORD_COLOUR = discord.Colour.dark_gold()
FIELD_MAX = 1024
EMBED_BUDGET = 5800  # under Discord's 6,000 characters per message's embeds
CLIPPED = "… (clipped; the attached record has every word)"


def clip(text: str, limit: int, *, note: str = CLIPPED) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(note))].rstrip() + note


def quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines()) or ">"


def outcome_label(kind: str) -> str:
    try:
        return OUTCOME_LABELS[OutcomeKind(kind)]
    except ValueError:
        return kind.replace("_", " ")


def outcome_line(summary: RecordSummary) -> str:
    return f"**#{summary.deliberation_id}** {clip(summary.question, 120, note='…')}\n" + (
        f"{outcome_label(summary.outcome)} · sealed {summary.sealed_at:%Y-%m-%d}"
    )


def list_embed(title: str, summaries: list[RecordSummary], *, footer: str = "") -> discord.Embed:
    embed = discord.Embed(title=title, colour=RECORD_COLOUR)
    if not summaries:
        embed.description = "No sealed decision records."
    else:
        embed.description = clip("\n\n".join(outcome_line(s) for s in summaries), 4096, note="…")
    if footer:
        embed.set_footer(text=footer)
    return embed


def _add(embed: discord.Embed, name: str, value: str, *, inline: bool = False) -> None:
    room = EMBED_BUDGET - len(embed)
    if room < len(name) + 40:
        return
    embed.add_field(name=name, value=clip(value or "-", min(FIELD_MAX, room - len(name))), inline=inline)


def record_embed(record: dict[str, Any], chain_head: str) -> discord.Embed:
    """The record in brief; dissent first among the details, because it must not be missed."""
    outcome = record["outcome"]
    embed = discord.Embed(
        title=clip(f"Decision record #{record['deliberation_id']}: {record['question']}", 256, note="…"),
        description=clip(f"**{outcome['label']}.** {outcome['reason']}", 1000, note="…"),
        colour=RECORD_COLOUR,
    )
    proposal = record.get("proposal")
    if proposal:
        _add(embed, "Proposal", f"{quote(clip(proposal['text'], 700))}\n{proposal['summary']}")
    tally = record["tally"]
    _add(
        embed,
        "Consent (members only)",
        f"Endorse {tally['endorse']} · Reservations {tally['reservations']} · "
        f"Stand aside {tally['stand_aside']} · Block {tally['block']}",
    )
    if record["ai_stances"]:
        _add(
            embed,
            "AI stances (labelled, not counted)",
            "\n".join(f"{s['label']}: {s['stance'] or 'no position'}" for s in record["ai_stances"]),
        )
    dissent = [
        f"{'Block' if o['from_block'] else 'Objection'} #{o['id']} by {o['author']}:\n"
        f"{quote(o['what'])}\nWhy:\n{quote(o['why'])}"
        for o in record["standing_objections"]
    ] + [
        f"Minority position #{p['id']} by {p['author']} ({p['stance']}):\n{quote(p['text'])}"
        for p in record["minority_positions"]
    ]
    _add(embed, "Standing dissent (verbatim)", "\n\n".join(dissent) or "None.")
    part = record["participation"]
    lines = [
        f"Took part: {', '.join(part['spoke']) or 'nobody'}",
        f"Did not take part: {', '.join(part['silent']) or 'nobody'}",
    ]
    lines += [f"AI participant {a['name']} was unavailable" for a in record.get("ai_unavailable", [])]
    _add(embed, "Participation", "\n".join(lines))
    footer = f"Moderator: {record['moderator']} · process: {record['template']}"
    if chain_head:
        footer += f" · sealed by chain head {chain_head[:16]}…"
    embed.set_footer(text=footer)
    return embed
