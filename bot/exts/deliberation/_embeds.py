"""How a deliberation looks in Discord: its agenda, round announcements, status and record.

Names are the engine's display names, so anonymous deliberations show aliases everywhere.
"""

from __future__ import annotations

from datetime import datetime

import discord

from bot.engine.deliberation import Deliberation
from bot.engine.model import ACCEPTS, Participant, Role
from bot.engine.record import ai_label
from bot.engine.templates import ROUND_PURPOSE, RoundKind
from bot.exts._shared.posting import HUMAN_COLOUR

AGENDA_COLOUR = discord.Colour.gold()
ROUND_COLOUR = discord.Colour.dark_gold()
RECORD_COLOUR = discord.Colour.dark_green()
CANCELLED_COLOUR = discord.Colour.dark_grey()

AI_MEANING = (
    "An AI participant is a participant, never an authority: everything it writes is labelled "
    "with its name and model, it speaks after members have had their say, and it is never "
    "counted in tallies, quorum or the outcome. Its drafts are proposals until the moderator adopts one."
)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(at: datetime | None) -> str:
    if at is None:
        return "-"
    return f"{discord.utils.format_dt(at, 'f')} ({discord.utils.format_dt(at, 'R')})"


def names(d: Deliberation, people: list[Participant], *, empty: str = "nobody") -> str:
    return clip(", ".join(d.display_name(p.key) for p in people) or empty, 1024)


def thread_name(question: str) -> str:
    """A thread named after the question: one line, at most Discord's 100 characters."""
    return clip(" ".join(question.split()), 100)


def takes(d: Deliberation, what: str) -> bool:
    """Does any round of this process take this kind of input? (Which agenda buttons to show.)"""
    return any(what in ACCEPTS[r.kind] for r in d.rounds)


def _round_line(d: Deliberation, index: int) -> str:
    r = d.rounds[index]
    head = f"{index + 1}. **{r.kind.value.capitalize()}**: {ROUND_PURPOSE[r.kind]}"
    if r.closed_at is not None:
        return f"{head}\n   Closed {when(r.closed_at)}" + (" (closed early by the moderator)" if r.forced else "")
    if r.opened_at is not None and d.is_open:
        return f"{head}\n   Open now; deadline {when(r.deadline)}"
    return f"{head}\n   Opens when the round before it closes (up to {d.settings.round_minutes} minutes)"


def agenda_embed(d: Deliberation) -> discord.Embed:
    embed = discord.Embed(title=f"Deliberation #{d.id}", description=clip(d.question, 4096), colour=AGENDA_COLOUR)
    embed.add_field(
        name="Rounds", value=clip("\n".join(_round_line(d, i) for i in range(len(d.rounds))), 1024), inline=False
    )
    s = d.settings
    if s.min_round_minutes:
        closing = (
            f"the moderator may close it after {s.min_round_minutes} minutes, or earlier by forcing it "
            "(the record says so)"
        )
    else:
        closing = "the moderator may close it at any time"
    rules = [
        f"Each round runs up to {s.round_minutes} minutes; {closing}.",
        "Stating your position again edits it; earlier versions are kept.",
        "Objections are kept word for word with their status; open ones stand in the record.",
    ]
    if d.decides:
        rules.append(
            f"The decision needs at least {s.quorum} members to answer the consent check; a block needs a reason."
        )
    else:
        rules.append("This process gathers advice; it makes no decision.")
    if s.anonymous:
        rules.append("Anonymous: members appear as aliases (Participant 1, 2, …).")
    embed.add_field(name="Rules", value=clip("\n".join(f"- {r}" for r in rules), 1024), inline=False)
    embed.add_field(name="Moderator", value=clip(d.display_name(d.moderator), 1024), inline=True)
    embed.add_field(name="Process", value=d.template, inline=True)
    if d.ai_seats:
        seats = "\n".join(f"- {ai_label(s.name, s.model)}" for s in d.ai_seats.values())
        embed.add_field(
            name="AI participants at the table",
            value=clip(f"{seats}\n{AI_MEANING}\n{_ai_waits(d)}", 1024),
            inline=False,
        )
    else:
        embed.add_field(name="AI participants at the table", value="None: only members take part.", inline=False)
    status = {"open": "Open", "closed": "Closed: the record is sealed", "cancelled": "Cancelled"}[d.status.value]
    embed.set_footer(
        text=f"{status} · Use the buttons or /position, /object, /statement, /consent. "
        "Remind me: a mention when each round opens."
    )
    return embed


def round_opened_embed(d: Deliberation, index: int) -> discord.Embed:
    r = d.rounds[index]
    embed = discord.Embed(
        title=f"Round {index + 1} of {len(d.rounds)} open: {r.kind.value}",
        description=ROUND_PURPOSE[r.kind].capitalize() + ".",
        colour=ROUND_COLOUR,
    )
    embed.add_field(name="Deadline", value=when(r.deadline), inline=True)
    embed.add_field(name="Can close from", value=when(r.min_close_at), inline=True)
    if r.kind is RoundKind.CONSENT:
        proposal = d.proposal
        text = proposal.text if proposal is not None else d.question
        source = "" if proposal is not None else " (the question as asked; no proposal was put)"
        embed.add_field(name="Proposal" + source, value=clip(text, 1024), inline=False)
        embed.add_field(
            name="Answer",
            value="Endorse, Agree with reservations, Stand aside, or Block (a block needs a reason). "
            "Only members' answers count.",
            inline=False,
        )
    if r.kind is RoundKind.CONSENT:
        expected, _ = d.expected()
        answered = [k for k in expected if k in d.consent]
        waiting = [k for k in expected if k not in d.consent]
        embed.add_field(name="Answered", value=f"{len(answered)} of {len(expected)} members", inline=True)
        embed.add_field(name="Not answered yet", value=_keys(d, waiting), inline=False)
    else:
        silent = [p for p in d.silent_humans() if p.role is Role.PARTICIPANT]
        spoke = [p for p in d.humans() if d.spoke(p.key)]
        embed.add_field(name="Taken part so far", value=names(d, spoke), inline=False)
        embed.add_field(name="Not heard from yet", value=names(d, silent), inline=False)
    now, then = ROUND_NEXT[r.kind]
    embed.add_field(name="What happens now", value=now, inline=False)
    embed.add_field(name="The moderator next", value=then, inline=False)
    embed.set_footer(text=f"Deliberation #{d.id}")
    return embed


def _keys(d: Deliberation, keys: list[str]) -> str:
    """Members by key: their shown names; invited members who have not joined have no alias yet, so
    they are a mention (which renders as their name and pings no one in an embed), or only counted
    when the deliberation is anonymous."""
    shown = [d.display_name(k) for k in keys if d.participant(k)]
    invited = [k for k in keys if not d.participant(k)]
    if d.settings.anonymous:
        shown += [f"{len(invited)} invited"] if invited else []
    else:
        shown += [f"<@{k.partition(':')[2]}>" for k in invited]
    return clip(", ".join(shown), 1024) or "nobody"


# What each round is for, for members and for the moderator: every round's opening message says it.
ROUND_NEXT: dict[RoundKind, tuple[str, str]] = {
    RoundKind.POSITIONS: (
        "Members: press **State position** (or use /position). AI participants speak after the expected "
        "members, or at half-time.",
        "/deliberation advance once everyone has spoken (or wait for the deadline); /ai speak to hear the AI now.",
    ),
    RoundKind.DISSENT: (
        "Members: **Raise objection**, **Add statement**, **Respond** under any post, and vote Agree / Disagree / "
        "Pass on positions and statements.",
        "/dissent for the dissent map (open objections, divisive statements, opinion groups); "
        "/deliberation advance to the synthesis.",
    ),
    RoundKind.SYNTHESIS: (
        "Members: **Critique** drafts as they appear (or /summary critique); object if a draft misses something.",
        "/summary draft to ask the AI participants, /summary revise draft:<n> for them to answer its critiques, "
        "/summary propose to write one, /summary adopt draft:<n> to put a draft (as is or amended), /summary rank "
        "for members to rank two or more drafts; then /deliberation advance to the consent check.",
    ),
    RoundKind.CONSENT: (
        "Members: answer with the buttons below; a Block needs a reason and becomes an objection.",
        "/deliberation advance once members have answered: the record is sealed.",
    ),
}


def round_closed_embed(d: Deliberation, index: int) -> discord.Embed:
    r = d.rounds[index]
    how = "by its deadline" if r.closed_by.startswith("system:") else "by the moderator"
    if r.forced:
        how = "early by the moderator (forced)"
    took, silent = d.round_participation(index)
    embed = discord.Embed(
        title=f"Round {index + 1} of {len(d.rounds)} closed: {r.kind.value}",
        description=f"Closed {how}.",
        colour=ROUND_COLOUR,
    )
    embed.add_field(name="Took part", value=names(d, took), inline=False)
    embed.add_field(name="Did not take part", value=names(d, silent), inline=False)
    if r.kind is RoundKind.DISSENT or r.kind is RoundKind.SYNTHESIS:
        still_open = len(d.open_objections())
        embed.add_field(name="Open objections", value=str(still_open), inline=True)
    embed.set_footer(text=f"Deliberation #{d.id}")
    return embed


def extended_embed(d: Deliberation) -> discord.Embed:
    r = d.round
    return discord.Embed(
        title=f"The {r.kind.value} round is extended",
        description=f"New deadline: {when(r.deadline)}",
        colour=ROUND_COLOUR,
    ).set_footer(text=f"Deliberation #{d.id}")


def cancelled_embed(d: Deliberation) -> discord.Embed:
    embed = discord.Embed(title=f"Deliberation #{d.id} cancelled", colour=CANCELLED_COLOUR)
    embed.add_field(name="Reason", value=clip(d.cancel_reason, 1024), inline=False)
    return embed


def _ai_waits(d: Deliberation) -> str:
    """The humans-first rule as this deliberation applies it (the agenda's standing text)."""
    whom = (
        f"the {len(d.invited)} invited member(s) and everyone who joins"
        if d.invited
        else f"at least {d.settings.quorum} member(s) and everyone who joins"
    )
    half = d.ai_due_at() if d.rounds and d.rounds[0].kind is RoundKind.POSITIONS else None
    at = f", or at {when(half)}" if half is not None and d.current == 0 else ", or at half-time"
    return f"They state positions after {whom} have stated theirs{at}, whichever comes first."


def ai_speaks(d: Deliberation, now: datetime) -> str | None:
    """When the AI participants will state positions, as things stand now; None outside that round."""
    if not d.is_open or d.round.kind is not RoundKind.POSITIONS:
        return None
    if all(d.position_of(f"ai:{name}") is not None for name in d.ai_seats):
        return "They have stated their positions in this round."
    if d.ai_due(now):
        return "Now: every expected member has stated a position, or the moderator asked."
    waiting, more = d.members_awaited()
    who = _keys(d, waiting) if waiting else ""
    if more > len(waiting):
        who = f"{who} and {more - len(waiting)} more" if waiting else "any members"
    half = d.ai_due_at()
    return f"After {more} more member(s) state a position ({who}), or at {when(half)}, whichever comes first."


def status_embed(d: Deliberation, *, reveal: bool, now: datetime) -> discord.Embed:
    """The state of a deliberation. `reveal` (moderator, when settings allow) adds who is behind an alias."""

    def who(p: Participant) -> str:
        shown = d.display_name(p.key)
        if reveal and p.is_human and shown != p.name:
            return f"{shown} ({p.name})"
        return shown

    embed = discord.Embed(title=f"Deliberation #{d.id}", description=clip(d.question, 4096), colour=HUMAN_COLOUR)
    if d.is_open:
        r = d.round
        embed.add_field(
            name="Now",
            value=f"Round {d.current + 1} of {len(d.rounds)}: {r.kind.value}; deadline {when(r.deadline)}",
            inline=False,
        )
    else:
        embed.add_field(name="Status", value=d.status.value, inline=False)
    people = d.humans(include_observers=True)
    lines = [f"{who(p)}: {p.role.value}" + (", opted out of AI" if p.ai_opt_out else "") for p in people]
    embed.add_field(name=f"Members ({len(people)})", value=clip("\n".join(lines) or "nobody yet", 1024), inline=False)
    embed.add_field(name="Positions", value=str(len(d.positions())), inline=True)
    embed.add_field(name="Open objections", value=str(len(d.open_objections())), inline=True)
    ranking = d.open_ranking_now()
    if ranking is not None:
        # How many have ranked, never who (the ballots are private).
        embed.add_field(name=f"Ranking #{ranking.number} open", value=f"{len(ranking.ballots)} ballot(s)", inline=True)
    if d.ai_seats:
        embed.add_field(
            name="AI participants",
            value=clip("\n".join(ai_label(s.name, s.model) for s in d.ai_seats.values()), 1024),
            inline=False,
        )
        speaks = ai_speaks(d, now)
        if speaks:
            embed.add_field(name="When the AI speaks", value=clip(speaks, 1024), inline=False)
    silent = [p for p in d.silent_humans() if p.role is Role.PARTICIPANT]
    embed.add_field(
        name="Not heard from yet", value=clip(", ".join(who(p) for p in silent) or "nobody", 1024), inline=False
    )
    if reveal:
        embed.set_footer(text="Only you see the names behind the aliases (moderator).")
    return embed


__all__ = [
    "agenda_embed",
    "cancelled_embed",
    "extended_embed",
    "round_closed_embed",
    "round_opened_embed",
    "status_embed",
    "thread_name",
]
