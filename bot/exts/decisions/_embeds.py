"""How sealed decision records look in Discord: a summary embed, the full text as files.

An embed holds at most 6,000 characters, so the embed summarises and clips (saying so);
the attached Markdown and JSON carry the record verbatim, dissent included.
"""

from __future__ import annotations

import io

import discord

from bot.engine.markdown import split_lines
from bot.engine.model import CONSENT_LABELS, ConsentChoice
from bot.engine.outcome import OUTCOME_LABELS, OutcomeKind
from bot.engine.record import DraftRanking, Record, as_record, record_json
from bot.service import RecordSummary, StoredRecord

RECORD_COLOUR = discord.Colour.dark_gold()
FIELD_MAX = 1024
EMBED_BUDGET = 5800  # under Discord's 6,000 characters per message's embeds
CLIPPED = "… (clipped; the attached record has every word)"
MAX_FIELDS = 25
DISSENT = "Standing dissent (verbatim)"
DISSENT_FIELDS = 3  # at most; the rest of the embed needs its room too
DISSENT_ITEM_MIN = 160  # characters an item keeps at least (its heading and the start of its words)


def clip(text: str, limit: int, *, note: str = CLIPPED) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(note))].rstrip() + note


def quote(text: str) -> str:
    """Member or AI text as a Discord quote: every line (whatever breaks it) quoted, Markdown escaped."""
    return "\n".join("> " + discord.utils.escape_markdown(line) if line else ">" for line in split_lines(text))


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


def _add(embed: discord.Embed, name: str, value: str, *, inline: bool = False) -> bool:
    """Add a field if the embed has room for it (clipped to the room left); False when it has none."""
    room = EMBED_BUDGET - len(embed)
    if room < len(name) + 40 or len(embed.fields) >= MAX_FIELDS:
        return False
    embed.add_field(name=name, value=clip(value or "-", min(FIELD_MAX, room - len(name))), inline=inline)
    return True


def _text(text: str) -> str:
    """Member or AI text on one line: Discord Markdown escaped, line breaks shown as spaces."""
    return discord.utils.escape_markdown(" ".join(split_lines(text)))


def _dissent(record: Record) -> list[str]:
    """Every standing objection and block (what and why) and every minority position, verbatim."""
    items = [
        f"**{o.kind} #{o.id}** by {_text(o.author)}:\n{quote(o.what)}\nWhy:\n{quote(o.why)}"
        for o in record.standing_objections
    ]
    items += [
        f"**Minority position #{m.id}** by {_text(m.author)} ({_text(m.stance or 'no position')}):\n"
        f"{quote(m.text)}\n{_text('Listed because ' + '; '.join(m.why_listed))}."
        for m in record.minority_positions
    ]
    return items


def _blocks(record: Record) -> list[str]:
    """Every block no longer standing (addressed, or lifted by a new answer), with its reason and
    who moved it last and why: a block's reason is never hidden behind its status (format 3)."""
    items = []
    still_blocking = {r.member for r in record.consent_responses if r.answer == ConsentChoice.BLOCK.value}
    for o in record.objections:
        if not o.from_block or o.status == "standing":
            continue
        item = f"**Block #{o.id}** by {_text(o.author)} ({_text(o.status)}). Why:\n{quote(o.why)}"
        if o.author in still_blocking:
            # Only the member lifts a block: marked addressed, their answer still counts in the outcome.
            item += "\nTheir consent answer is still Block, and it counts in the outcome."
        step = (o.history or ())[-1:]
        if step and step[0].status != "raised":
            how = _STEP_WORDS.get(step[0].status, step[0].status)
            item += f"\n{_text(how.capitalize())} by {_text(step[0].by)}"
            item += f" ({_text(step[0].note)})" if step[0].note else ""
            item += f":\n{quote(step[0].reason)}" if step[0].reason else "."
        items.append(item)
    return items


_STEP_WORDS = {"addressed": "marked addressed"}
BLOCKS = "Block objections addressed or lifted"


def _add_dissent(embed: discord.Embed, items: list[str], *, name: str = DISSENT) -> None:
    """Dissent in as many fields as it needs (up to DISSENT_FIELDS), each item given a fair share
    of the room, and a count of any that do not fit: none is left out silently."""
    if not items:
        if name == DISSENT:
            _add(embed, DISSENT, "None.")
        return
    share = min(FIELD_MAX, max(DISSENT_ITEM_MIN, DISSENT_FIELDS * FIELD_MAX // len(items) - 2))
    chunks: list[list[str]] = []
    for item in (clip(i, share) for i in items):
        if chunks and len("\n\n".join([*chunks[-1], item])) <= FIELD_MAX:
            chunks[-1].append(item)
        else:
            chunks.append([item])
    shown = chunks[:DISSENT_FIELDS]
    hidden = sum(len(c) for c in chunks[DISSENT_FIELDS:])
    for n, chunk in enumerate(shown):
        value = "\n\n".join(chunk)
        if n == len(shown) - 1 and hidden:
            more = f"\n… and {hidden} more: the attached record has every word."
            value = clip(value, FIELD_MAX - len(more), note="…") + more
        if not _add(embed, name if n == 0 else f"{name} (continued)", value):
            break


def _ranking_line(k: DraftRanking) -> str:
    """One ranking's count: never who ranked what."""
    if not k.ballots:
        return f"Ranking #{k.number}: no ballots."
    if k.tie:
        tied = " and ".join(f"#{i}" for i in k.winners)
        return f"Ranking #{k.number}: {k.ballots} ballot(s); tie between drafts {tied}."
    return f"Ranking #{k.number}: {k.ballots} ballot(s); preferred draft #{k.winners[0]}."


def record_embed(stored: StoredRecord) -> discord.Embed:
    """The sealed record in brief, the same wherever it is shown (at sealing, `/decisions show`).

    Dissent comes first among the details, because it must not be missed. Member and AI text
    is quoted with its Markdown escaped: it shows as typed and cannot format the embed.
    """
    record = as_record(stored.record)
    title = f"Decision record #{record.deliberation_id}: {_text(record.question)}"
    embed = discord.Embed(title=clip(title, 256, note="…"), colour=RECORD_COLOUR)
    _add(embed, "Outcome", f"**{record.outcome.label}.** {record.outcome.reason}")
    if record.cancel_reason:
        _add(embed, "Cancelled", quote(record.cancel_reason))
    _add_dissent(embed, _dissent(record))
    _add_dissent(embed, _blocks(record), name=BLOCKS)
    if record.proposal:
        _add(embed, "Proposal", f"{quote(clip(record.proposal.text, 700))}\n{_text(record.proposal.summary)}")
    _add(
        embed,
        "Consent (members only)",
        " · ".join(f"{CONSENT_LABELS[c]} {record.tally.of(c)}" for c in ConsentChoice),
    )
    if record.rankings:
        _add(embed, "Ranked drafts (members' ballots, Schulze)", "\n".join(map(_ranking_line, record.rankings)))
    if record.ai_stances:
        _add(
            embed,
            "AI stances (labelled, not counted)",
            "\n".join(f"{_text(s.label)}: {_text(s.stance or 'no position')}" for s in record.ai_stances),
        )
    part = record.participation
    lines = [
        f"Took part: {', '.join(map(_text, part.spoke)) or 'nobody'}",
        f"Did not take part: {', '.join(map(_text, part.silent)) or 'nobody'}",
    ]
    lines += [f"AI participant {_text(a.name)} was unavailable" for a in record.ai_unavailable]
    _add(embed, "Participation", "\n".join(lines))
    footer = f"Moderator: {record.moderator} · process: {record.template}"
    if stored.chain_head:
        footer += f" · sealed by chain head {stored.chain_head[:16]}…"
    embed.set_footer(text=clip(footer, 2048, note="…"))
    return embed


def record_files(stored: StoredRecord) -> list[discord.File]:
    """The record verbatim: Markdown as stored, JSON as stored (with the chain head that seals it).

    New File objects for every send: a sent File is consumed.
    """
    number = stored.deliberation_id
    data = record_json(stored.record, pretty=True)
    return [
        discord.File(io.BytesIO(stored.markdown.encode()), filename=f"decision-record-{number}.md"),
        discord.File(io.BytesIO(data.encode()), filename=f"decision-record-{number}.json"),
    ]
