"""Dissent coverage: which open objections and minority positions a draft leaves unanswered.

Computed by code, never by a model. An AI draft covers an objection or position when one of its
claims cites it (the `claims` of its provenance, each citation's quote checked before the draft
was stored); a member's draft, when its author says it answers it (`Contribution.answers`).
Everything else that is open dissent is listed as not addressed, so the moderator sees it
before putting the draft to the group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.engine.model import ConsentChoice, Contribution, ContributionKind, ObjectionStatus, Vote

if TYPE_CHECKING:
    from bot.engine.deliberation import Deliberation


@dataclass(frozen=True, slots=True)
class Unaddressed:
    """An open objection or a minority position a draft neither cites nor answers."""

    id: int
    kind: Literal["objection", "minority position"]
    # As the deliberation shows its author: an alias when anonymous.
    author: str


def minority_positions(d: Deliberation) -> list[Contribution]:
    """Human positions the group is not carrying.

    The same rule as the record's minority positions: more members disagreed with it than
    agreed, or (once consent was given) its author did not endorse.
    """
    out = []
    for c in d.positions():
        if c.by_ai:
            continue
        votes = d.tally(c.id)
        response = d.consent.get(c.author)
        not_endorsed = d.decides and response is not None and response.choice is not ConsentChoice.ENDORSE
        if votes[Vote.DISAGREE] > votes[Vote.AGREE] or not_endorsed:
            out.append(c)
    return out


def cited_ids(draft: Contribution) -> set[int]:
    """Ids the draft's claims cite (from its stored provenance; human drafts have none)."""
    meta = draft.ai_meta or {}
    ids: set[int] = set()
    for claim in meta.get("claims") or ():
        for cite in claim.get("cites") or ():
            ident = cite.get("id")
            if isinstance(ident, int) and not isinstance(ident, bool):
                ids.add(ident)
    return ids


def unaddressed(d: Deliberation, draft_id: int, *, reveal: bool = False) -> list[Unaddressed]:
    """Open objections and minority positions the draft neither cites nor answers, by id.

    Once sealed, the objections still open became standing: they are the ones the record lists.
    Authors are shown as the deliberation shows them (aliases when anonymous, unless `reveal`).
    """
    draft = d.contributions.get(draft_id)
    if draft is None or draft.kind is not ContributionKind.DRAFT:
        raise ValueError(f"#{draft_id} is not a draft")
    # An AI draft covers only what its checked claims cite: the ids it says it answers are the
    # model's word, unchecked. A member's draft covers what its author says it answers.
    covered = cited_ids(draft) if draft.by_ai else set(draft.answers)
    unresolved = (ObjectionStatus.OPEN, ObjectionStatus.STANDING)
    items = [
        Unaddressed(o.id, "objection", d.display_name(o.author, reveal=reveal))
        for o in d.objections.values()
        if o.status in unresolved
    ]
    items += [
        Unaddressed(c.id, "minority position", d.display_name(c.author, reveal=reveal)) for c in minority_positions(d)
    ]
    return sorted((i for i in items if i.id not in covered), key=lambda i: i.id)


def not_addressed_text(items: Iterable[Unaddressed]) -> str:
    """ "#5 (Grace), #7 (Linus)", or "" when nothing is left unanswered."""
    return ", ".join(f"#{i.id} ({i.author})" if i.author else f"#{i.id}" for i in items)


@dataclass(frozen=True, slots=True)
class Source:
    """A member's words an AI contribution cites: where from, by whom, and the verbatim quote."""

    id: int
    author: str
    quote: str


def sources(d: Deliberation, contribution: Contribution) -> list[Source]:
    """The citations of an AI contribution's claims, once each, in the order first cited.

    Authors are shown as the deliberation shows them (aliases when anonymous).
    """
    meta = contribution.ai_meta or {}
    out: list[Source] = []
    seen: set[tuple[int, str]] = set()
    for claim in meta.get("claims") or ():
        for cite in claim.get("cites") or ():
            ident, quote = cite.get("id"), cite.get("quote")
            if not isinstance(ident, int) or not isinstance(quote, str) or (ident, quote) in seen:
                continue
            seen.add((ident, quote))
            cited = d.contributions.get(ident) or d.objections.get(ident)
            out.append(Source(ident, d.display_name(cited.author) if cited is not None else "", quote))
    return out
