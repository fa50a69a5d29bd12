"""The decision record: what was agreed, who disagreed and why (verbatim), which words were an AI's.

The record is composed from the deliberation's state alone, so composing it again from the
stored events gives the same record: `python -m bot verify` relies on that.

`Record` is the one model of a sealed record; everything shows it through one renderer each:
`record_json` (what the store keeps and hashes, and every `.json` file), `render_markdown` (the
`.md` record, here, pure) and, in the Discord layer, `bot.exts.decisions._embeds.record_embed`.
`Record.to_dict()` is the JSON shape itself, unchanged since format 1, so a stored record read
with `Record.from_dict` and written back gives the same bytes, and so the same digest.
"""

from __future__ import annotations

import functools
import hashlib
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from typing import Any, TypeVar, get_args, get_origin

from bot.engine import coverage
from bot.engine.deliberation import Deliberation
from bot.engine.events import DeliberationSealed, Event
from bot.engine.markdown import inline, quote
from bot.engine.model import (
    CONSENT_LABELS,
    ActorKind,
    ConsentChoice,
    Contribution,
    ContributionKind,
    DeliberationStatus,
    ObjectionStatus,
    ProposalSource,
    Role,
    Vote,
    ai_label,
)
from bot.engine.model import Objection as ObjectionState
from bot.engine.outcome import Outcome, decide_outcome
from bot.engine.overlap import replaced

# Bumped whenever `compose_record` or `render_markdown` changes what they produce. A record keeps
# the format it was sealed in; `verify` recomposes and re-renders only records of this format
# (older ones are still checked against their digest and their chain head).
# 2: member text can no longer forge the Markdown (escaped, every line break kept in its quote);
#    the Markdown ends with the record's digest instead of the chain head, so it is rendered
#    before storing; an anonymous deliberation's moderator is "Moderator"; the proposal's
#    authorship names the draft's number.
# 3: what each draft leaves unaddressed; responses under what they answer; every objection's
#    status changes with who and why; drafts' lineage (critiques, revisions); rankings;
#    timestamps to the minute with the time zone.
RECORD_FORMAT = 3


def outcome_of(d: Deliberation) -> Outcome:
    """The outcome from the members' latest consent responses; AI never answers, so never counts."""
    human = [r.choice for key, r in d.consent.items() if key.startswith(ActorKind.HUMAN.value + ":")]
    outcome = decide_outcome(
        human,
        d.settings.quorum,
        decides=d.decides,
        cancelled=d.status is DeliberationStatus.CANCELLED,
    )
    # Only its member lifts a block: one whose objection the moderator marked addressed still counts.
    marked = [
        o.id
        for o in d.objections.values()
        if o.from_block
        and o.status is ObjectionStatus.ADDRESSED
        and (answer := d.consent.get(o.author)) is not None
        and answer.choice is ConsentChoice.BLOCK
    ]
    if marked and outcome.tally[ConsentChoice.BLOCK]:
        ids = ", ".join(f"#{i}" for i in marked)
        outcome = replace(
            outcome,
            reason=f"{outcome.reason} Block {ids} was marked addressed, but its member's answer is still Block.",
        )
    return outcome


# --------------------------------------------------------------------------- the model

# Metadata of a field whose key is left out of the JSON when it is None (not written as null).
_OMIT = {"omit_if_none": True}

_R = TypeVar("_R", bound="_Part")


class _Part:
    """JSON conversion for the record's dataclasses, driven by their type hints.

    Lists are tuples in the model and lists in JSON; a field's JSON key is its name, or
    `metadata["key"]`; fields with `_OMIT` metadata are absent from the JSON when None.
    """

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in _plan(type(self)):
            value = getattr(self, f.name)
            if value is None and f.omit_if_none:
                continue
            out[f.key] = _to_json(value)
        return out

    @classmethod
    def from_dict(cls: type[_R], data: Mapping[str, Any]) -> _R:
        if not isinstance(data, Mapping):
            raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        plan = _plan(cls)
        if unknown := sorted(data.keys() - _KEYS[cls]):
            # Dropping them would change the record's bytes, and so its digest.
            raise ValueError(f"{cls.__name__}: the record has unknown fields {', '.join(map(repr, unknown))}")
        values = {}
        for f in plan:
            if f.key not in data:
                if f.omit_if_none:
                    continue
                raise ValueError(f"{cls.__name__}: the record has no {f.key!r}")
            values[f.name] = f.read(data[f.key])
        return cls(**values)


@dataclass(frozen=True)
class _Field:
    name: str
    key: str
    omit_if_none: bool
    read: Callable[[Any], Any]  # from its JSON value to the model's


_PLANS: dict[type, tuple[_Field, ...]] = {}
_KEYS: dict[type, frozenset[str]] = {}


def _plan(cls: type) -> tuple[_Field, ...]:
    """Each field's name, JSON key, omission rule and reader, worked out once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = _PLANS[cls] = tuple(
            _Field(f.name, f.metadata.get("key", f.name), bool(f.metadata.get("omit_if_none")), _reader(hints[f.name]))
            for f in fields(cls)
        )
        _KEYS[cls] = frozenset(f.key for f in plan)
    return plan


def _to_json(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, _Part):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    return value


def _same(value: Any) -> Any:
    return value


def _reader(hint: Any) -> Callable[[Any], Any]:
    """How to read a JSON value into a field of type `hint` (worked out once, used per record)."""
    origin = get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in get_args(hint) if a is not type(None)]
        read = _reader(inner)
        return _same if read is _same else lambda v: None if v is None else read(v)
    if origin is tuple:
        item = _reader(get_args(hint)[0])
        return tuple if item is _same else lambda v: tuple(map(item, v))
    if isinstance(hint, type) and is_dataclass(hint) and issubclass(hint, _Part):
        return hint.from_dict
    if origin is Mapping:
        return _frozen_copy
    return _same


def _frozen_copy(value: Any) -> Any:
    """Provenance is open-ended AI metadata; copied so the record never shares it with the caller."""
    if isinstance(value, Mapping):
        return types.MappingProxyType({k: _frozen_copy(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen_copy(v) for v in value)
    return value


@dataclass(frozen=True)
class Author(_Part):
    """Who wrote a contribution: a member (by display name or alias) or a labelled AI participant."""

    kind: str  # "human" or "ai"
    name: str
    model: str | None = field(default=None, metadata=_OMIT)  # AI participants only
    label: str | None = field(default=None, metadata=_OMIT)  # AI participants only

    @property
    def is_ai(self) -> bool:
        return self.kind == ActorKind.AI.value

    @property
    def shown(self) -> str:
        """How the record names the author: an AI participant always by its label."""
        return self.label if self.is_ai and self.label else self.name


@dataclass(frozen=True)
class Votes(_Part):
    agree: int
    disagree: int
    pass_: int = field(metadata={"key": "pass"})

    def __str__(self) -> str:
        return f"Agree {self.agree}, disagree {self.disagree}, pass {self.pass_}"


@dataclass(frozen=True)
class Position(_Part):
    id: int
    author: Author
    stance: str | None
    text: str
    edits: int
    votes: Votes
    # AI contributions: model, endpoint host, prompt hash, what the AI was shown.
    provenance: Mapping[str, Any] | None = field(default=None, metadata=_OMIT)
    responses: tuple[Reply, ...] | None = field(default=None, metadata=_OMIT)  # format 3: replies to it


@dataclass(frozen=True)
class Reply(_Part):
    """A member's response, quoted verbatim under what it answers (format 3)."""

    id: int
    author: Author
    text: str


@dataclass(frozen=True)
class StatusStep(_Part):
    """One change of an objection's status (format 3): raised, addressed, reopened, withdrawn,
    lifted (a block, by its author's new answer) or standing (open when the record was sealed).

    `by` is who changed it, as the record names people (aliases when anonymous); `reason` is
    their words, verbatim; `note` is the record's own explanation, never a member's words.
    """

    status: str
    by: str
    at: str
    reason: str | None = field(default=None, metadata=_OMIT)
    note: str | None = field(default=None, metadata=_OMIT)


@dataclass(frozen=True)
class Objection(_Part):
    id: int
    author: str
    what: str
    why: str
    status: str
    from_block: bool
    history: tuple[StatusStep, ...] | None = field(default=None, metadata=_OMIT)  # format 3, oldest first
    responses: tuple[Reply, ...] | None = field(default=None, metadata=_OMIT)  # format 3: replies to it

    @property
    def kind(self) -> str:
        return "Block" if self.from_block else "Objection"


@dataclass(frozen=True)
class NotAddressed(_Part):
    """An objection left open or a minority position at sealing that a draft neither cites nor answers."""

    id: int
    kind: str  # "objection" or "minority position"
    author: str


@dataclass(frozen=True)
class OtherContribution(_Part):
    """A statement, response, draft or critique."""

    id: int
    kind: str
    author: Author
    text: str
    reply_to: int | None
    answers: tuple[int, ...]
    provenance: Mapping[str, Any] | None = field(default=None, metadata=_OMIT)
    votes: Votes | None = field(default=None, metadata=_OMIT)  # statements only
    moderated_out: bool | None = field(default=None, metadata=_OMIT)  # statements only
    not_addressed: tuple[NotAddressed, ...] | None = field(default=None, metadata=_OMIT)  # drafts only
    responses: tuple[Reply, ...] | None = field(default=None, metadata=_OMIT)  # format 3: replies to it


@dataclass(frozen=True)
class Critique(_Part):
    """A critique of a draft, verbatim, by a member (an alias when anonymous) or a labelled AI."""

    id: int
    author: Author
    text: str


@dataclass(frozen=True)
class DraftLineage(_Part):
    """A draft's lineage: who drafted it, who critiqued it and how, what it revises, what revised it."""

    id: int
    drafted_by: Author
    critiques: tuple[Critique, ...]
    revised_by: tuple[int, ...]  # the drafts that revise this one
    revises: int | None = field(default=None, metadata=_OMIT)


@dataclass(frozen=True)
class ConsentResponse(_Part):
    member: str
    answer: str
    reason: str | None

    @property
    def label(self) -> str:
        return CONSENT_LABELS[ConsentChoice(self.answer)]


@dataclass(frozen=True)
class AIStance(_Part):
    name: str
    model: str
    label: str
    stance: str | None
    counted: bool


@dataclass(frozen=True)
class MinorityPosition(_Part):
    id: int
    author: str
    stance: str | None
    text: str
    why_listed: tuple[str, ...]


@dataclass(frozen=True)
class HumanParticipant(_Part):
    name: str
    role: str


@dataclass(frozen=True)
class AIParticipant(_Part):
    name: str
    model: str
    endpoint_host: str
    label: str


@dataclass(frozen=True)
class Participants(_Part):
    humans: tuple[HumanParticipant, ...]
    ai: tuple[AIParticipant, ...]


@dataclass(frozen=True)
class Proposal(_Part):
    text: str
    source: str
    put_by: str
    summary: str  # the authorship wording: `authorship(d)`
    draft_id: int | None = field(default=None, metadata=_OMIT)  # a draft adopted as is or amended
    drafted_by: Author | None = field(default=None, metadata=_OMIT)
    draft_text: str | None = field(default=None, metadata=_OMIT)


@dataclass(frozen=True)
class OutcomeSummary(_Part):
    kind: str
    label: str
    reason: str
    responded: int
    quorum_met: bool


@dataclass(frozen=True)
class Tally(_Part):
    """Members' consent answers; AI participants never answer."""

    endorse: int
    reservations: int
    stand_aside: int
    block: int

    def of(self, choice: ConsentChoice) -> int:
        return int(getattr(self, choice.value))


@dataclass(frozen=True)
class RoundFigures(_Part):
    kind: str
    opened_at: str | None
    closed_at: str | None
    minutes: float | None
    forced: bool


@dataclass(frozen=True)
class Participation(_Part):
    spoke: tuple[str, ...]
    silent: tuple[str, ...]
    rounds: tuple[RoundFigures, ...]


@dataclass(frozen=True)
class AIUnavailable(_Part):
    name: str
    reason: str


@dataclass(frozen=True)
class DraftRanking(_Part):
    """A ranking of drafts counted by the Schulze method over members' latest ballots.

    Only counts: how many ballots, and for each pair of drafts how many ranked one above the
    other. Never who ranked what, in any deliberation (the ballots stay in the event log).
    """

    number: int
    drafts: tuple[int, ...]
    ballots: int
    # preferences[i][j]: ballots ranking drafts[i] above drafts[j] (a draft left out ranks below those named).
    preferences: tuple[tuple[int, ...], ...]
    winners: tuple[int, ...]  # several: a tie, never broken
    order: tuple[tuple[int, ...], ...]  # the Schulze order, best first; drafts in one tier are tied
    closed: bool  # False only when the deliberation was cancelled while it took ballots

    @property
    def tie(self) -> bool:
        return len(self.winners) > 1


@dataclass(frozen=True)
class Record(_Part):
    """A sealed decision record. `chain_head` is set once stored: the event that sealed it."""

    format: int
    deliberation_id: int
    guild_id: int
    question: str
    template: str
    status: str
    opened_at: str | None
    closed_at: str | None
    moderator: str  # an alias ("Moderator") in anonymous deliberations
    anonymous: bool
    quorum: int
    participants: Participants
    proposal: Proposal | None
    outcome: OutcomeSummary
    tally: Tally
    consent_responses: tuple[ConsentResponse, ...]
    ai_stances: tuple[AIStance, ...]
    standing_objections: tuple[Objection, ...]
    minority_positions: tuple[MinorityPosition, ...]
    positions: tuple[Position, ...]
    objections: tuple[Objection, ...]
    other_contributions: tuple[OtherContribution, ...]
    participation: Participation
    ai_unavailable: tuple[AIUnavailable, ...]
    cancel_reason: str | None
    chain_head: str | None = field(default=None, metadata=_OMIT)
    rankings: tuple[DraftRanking, ...] | None = field(default=None, metadata=_OMIT)  # none held: absent
    # Format 3: every draft's lineage (absent when there were no drafts, and in older formats).
    draft_lineage: tuple[DraftLineage, ...] | None = field(default=None, metadata=_OMIT)

    def sealed(self, chain_head: str) -> Record:
        return replace(self, chain_head=chain_head)

    @functools.cached_property
    def digest(self) -> str:
        """`record_digest`, worked out once: sealing, rendering and storing all need it."""
        return _digest_of(self.to_dict())

    @property
    def has_dissent(self) -> bool:
        return bool(self.standing_objections or self.minority_positions)


def as_record(record: Record | Mapping[str, Any]) -> Record:
    """A stored record (its JSON object) as the model; a `ValueError` if it is not one."""
    return record if isinstance(record, Record) else Record.from_dict(record)


# --------------------------------------------------------------------------- composing


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _author(d: Deliberation, key: str) -> Author:
    p = d.participants.get(key)
    if p is not None and p.kind is ActorKind.AI:
        return Author("ai", p.name, p.model, ai_label(p.name, p.model))
    return Author("human", d.display_name(key))


def _provenance(c: Contribution) -> Mapping[str, Any] | None:
    """Where an AI contribution came from: model, endpoint host, prompt hash, what it was shown."""
    return _frozen_copy(dict(c.ai_meta)) if c.by_ai and c.ai_meta else None


def _votes(d: Deliberation, contribution_id: int) -> Votes:
    votes = d.tally(contribution_id)
    return Votes(votes[Vote.AGREE], votes[Vote.DISAGREE], votes[Vote.PASS])


def authorship(d: Deliberation) -> str:
    """Who wrote the proposal before the group and who put it: the one wording for every view."""
    proposal = d.proposal
    assert proposal is not None
    by = d.display_name(proposal.by)
    if proposal.source is ProposalSource.MOTION:
        return f"The question as asked, put to the group by {by}."
    if proposal.source is ProposalSource.HUMAN:
        return f"Written by {by}."
    assert proposal.draft_id is not None
    draft = d.contributions[proposal.draft_id]
    author = _author(d, draft.author)
    drafted = f"AI participant {author.name} ({author.model})" if author.is_ai else author.name
    if _replaced(d):
        return (
            f"Written by {by}, replacing draft #{draft.id} by {drafted}: less than a third of the draft's words remain."
        )
    how = "adopted as is" if proposal.source is ProposalSource.ADOPTED else "adopted with amendments"
    return f"Draft #{draft.id} by {drafted}, {how} by {by}."


REPLACED = "replaced"  # the record's `proposal.source` when an amended draft kept little of its text


def _replaced(d: Deliberation) -> bool:
    """An amended draft whose text the moderator replaced (`bot.engine.overlap`): credited to them."""
    proposal = d.proposal
    if proposal is None or proposal.source is not ProposalSource.AMENDED or proposal.draft_id is None:
        return False
    return replaced(d.contributions[proposal.draft_id].text, proposal.text)


def _proposal(d: Deliberation) -> Proposal | None:
    proposal = d.proposal
    if proposal is None:
        return None
    by = d.display_name(proposal.by)
    if proposal.source in (ProposalSource.MOTION, ProposalSource.HUMAN):
        return Proposal(proposal.text, proposal.source.value, by, authorship(d))
    assert proposal.draft_id is not None
    draft = d.contributions[proposal.draft_id]
    return Proposal(
        proposal.text,
        REPLACED if _replaced(d) else proposal.source.value,
        by,
        authorship(d),
        draft_id=draft.id,
        drafted_by=_author(d, draft.author),
        draft_text=draft.text,
    )


def _minority_positions(d: Deliberation) -> tuple[MinorityPosition, ...]:
    """Human positions the group did not carry, quoted verbatim, each with why it is listed.

    A position is in the minority when its author did not endorse at the consent check, or
    when more members disagreed with it than agreed.
    """
    minority = []
    for c in d.positions():
        if c.by_ai:
            continue
        reasons = []
        response = d.consent.get(c.author)
        if d.decides and response is not None and response.choice is not ConsentChoice.ENDORSE:
            reasons.append(f"its author answered: {CONSENT_LABELS[response.choice]}")
        votes = d.tally(c.id)
        if votes[Vote.DISAGREE] > votes[Vote.AGREE]:
            reasons.append(f"{votes[Vote.DISAGREE]} disagreed, {votes[Vote.AGREE]} agreed")
        if reasons:
            minority.append(MinorityPosition(c.id, d.display_name(c.author), c.stance, c.text, tuple(reasons)))
    return tuple(minority)


def _other(d: Deliberation, c: Contribution, replies: Replies) -> OtherContribution:
    statement = c.kind is ContributionKind.STATEMENT
    return OtherContribution(
        c.id,
        c.kind.value,
        _author(d, c.author),
        c.text,
        c.reply_to,
        tuple(c.answers),
        provenance=_provenance(c),
        votes=_votes(d, c.id) if statement else None,
        moderated_out=(c.id in d.moderated_out) if statement else None,
        not_addressed=_not_addressed(d, c.id) if c.kind is ContributionKind.DRAFT else None,
        responses=replies.get(c.id),
    )


# --------------------------------------------------------------------------- responses and objections' history


Replies = dict[int, tuple[Reply, ...]]


def _replies_to(d: Deliberation) -> Replies:
    """Every response, verbatim, by what it answers (a position, statement, objection or response)."""
    by_target: dict[int, list[Reply]] = {}
    for c in d.contributions.values():
        if c.kind is ContributionKind.RESPONSE and c.reply_to is not None:
            by_target.setdefault(c.reply_to, []).append(Reply(c.id, _author(d, c.author), c.text))
    return {target: tuple(replies) for target, replies in by_target.items()}


def _who(d: Deliberation, key: str) -> str:
    """Who changed an objection's status, as the record names people; the process by what it is."""
    kind, _, ident = key.partition(":")
    return f"the {ident}" if kind == ActorKind.SYSTEM.value else d.display_name(key)


def _history(d: Deliberation, o: ObjectionState) -> tuple[StatusStep, ...]:
    """Every status change of an objection, in order, with who and why."""
    steps = []
    before: ObjectionStatus | None = None
    for change in o.history:
        reason, note = change.reason or None, None
        if before is None:
            status = "raised"
            note = "a block at the consent check" if o.from_block else None
        elif change.status is ObjectionStatus.OPEN:
            status = "reopened"
        elif change.status is ObjectionStatus.WITHDRAWN and o.from_block:
            # A block is lifted only by its author's new consent answer, given in the same action.
            status = "lifted"
            # The answer given in that action: the author's last at that moment (a block and its
            # change may share a minute, or an instant).
            answer = next((r for r in reversed(d.consent_history) if r.member == o.author and r.at == change.at), None)
            if answer is not None:
                note = f"its author changed their answer to {CONSENT_LABELS[answer.choice]}"
                reason = answer.reason or None
        elif change.status is ObjectionStatus.STANDING:
            status = "standing"  # still open when the record was sealed
        else:
            status = change.status.value
        steps.append(StatusStep(status, _who(d, change.by), _iso(change.at) or "", reason, note))
        before = change.status
    return tuple(steps)


def _objection(d: Deliberation, o: ObjectionState, replies: Replies) -> Objection:
    return Objection(
        o.id,
        d.display_name(o.author),
        o.what,
        o.why,
        o.status.value,
        o.from_block,
        history=_history(d, o),
        responses=replies.get(o.id),
    )


def _not_addressed(d: Deliberation, draft_id: int) -> tuple[NotAddressed, ...]:
    return tuple(NotAddressed(u.id, u.kind, u.author) for u in coverage.unaddressed(d, draft_id))


def _rounds(d: Deliberation) -> tuple[RoundFigures, ...]:
    rounds = []
    for r in d.rounds:
        minutes = (r.closed_at - r.opened_at).total_seconds() / 60 if r.opened_at and r.closed_at else None
        rounds.append(
            RoundFigures(
                r.kind.value,
                _iso(r.opened_at),
                _iso(r.closed_at),
                round(minutes, 1) if minutes is not None else None,
                r.forced,
            )
        )
    return tuple(rounds)


def _rankings(d: Deliberation) -> tuple[DraftRanking, ...] | None:
    rankings = []
    for r in d.rankings:
        result = r.result()
        rankings.append(
            DraftRanking(
                r.number, r.drafts, result.ballots, result.preferences, result.winners, result.order, not r.is_open
            )
        )
    return tuple(rankings) or None


def _draft_lineage(d: Deliberation) -> tuple[DraftLineage, ...] | None:
    """Each draft: who drafted it, its critiques verbatim, what it revises and what revised it."""
    drafts = d.drafts()
    if not drafts:
        return None
    return tuple(
        DraftLineage(
            c.id,
            _author(d, c.author),
            tuple(Critique(k.id, _author(d, k.author), k.text) for k in d.critiques_of(c.id)),
            tuple(r.id for r in d.revisions_of(c.id)),
            revises=c.revises,
        )
        for c in drafts
    )


def compose_record(d: Deliberation) -> Record:
    """The record of a deliberation as it stands (sealed: closed or cancelled). No chain head yet."""
    outcome = outcome_of(d)
    replies = _replies_to(d)
    objections = tuple(_objection(d, o, replies) for o in d.objections.values())
    seats = d.ai_seats.values()
    return Record(
        format=RECORD_FORMAT,
        deliberation_id=d.id,
        guild_id=d.guild_id,
        question=d.question,
        template=d.template,
        status=d.status.value,
        opened_at=_iso(d.created_at),
        closed_at=_iso(d.closed_at),
        # The display name: in an anonymous deliberation, the moderator's alias.
        moderator=d.display_name(d.moderator) if d.moderator in d.participants else "",
        anonymous=d.settings.anonymous,
        quorum=d.settings.quorum,
        participants=Participants(
            tuple(HumanParticipant(d.display_name(p.key), p.role.value) for p in d.humans(include_observers=True)),
            tuple(AIParticipant(s.name, s.model, s.endpoint_host, ai_label(s.name, s.model)) for s in seats),
        ),
        proposal=_proposal(d),
        outcome=OutcomeSummary(
            outcome.kind.value, outcome.label, outcome.reason, outcome.responded, outcome.quorum_met
        ),
        tally=Tally(*(outcome.tally[choice] for choice in ConsentChoice)),
        consent_responses=tuple(
            ConsentResponse(d.display_name(key), r.choice.value, r.reason) for key, r in d.consent.items()
        ),
        ai_stances=tuple(
            AIStance(
                seat.name,
                seat.model,
                ai_label(seat.name, seat.model),
                pos.stance if (pos := d.position_of(f"ai:{seat.name}")) else None,
                counted=False,
            )
            for seat in seats
        ),
        standing_objections=tuple(o for o in objections if o.status == ObjectionStatus.STANDING.value),
        minority_positions=_minority_positions(d),
        positions=tuple(
            Position(
                c.id,
                _author(d, c.author),
                c.stance,
                c.text,
                len(c.history),
                _votes(d, c.id),
                _provenance(c),
                responses=replies.get(c.id),
            )
            for c in d.positions()
        ),
        objections=objections,
        other_contributions=tuple(
            _other(d, c, replies) for c in d.contributions.values() if c.kind is not ContributionKind.POSITION
        ),
        participation=Participation(
            tuple(d.display_name(p.key) for p in d.humans() if d.spoke(p.key)),
            # The moderator facilitates and observers watch: neither is absent for not speaking.
            tuple(d.display_name(p.key) for p in d.silent_humans() if p.role is Role.PARTICIPANT),
            _rounds(d),
        ),
        ai_unavailable=tuple(AIUnavailable(name, reason) for name, reason, _, _ in d.ai_unavailable),
        cancel_reason=d.cancel_reason or None,
        rankings=_rankings(d),
        draft_lineage=_draft_lineage(d),
    )


# --------------------------------------------------------------------------- JSON and digest


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _as_dict(record: Record | Mapping[str, Any]) -> dict[str, Any]:
    return record.to_dict() if isinstance(record, Record) else dict(record)


def record_json(record: Record | Mapping[str, Any], *, pretty: bool = False) -> str:
    """The record as JSON: canonical (what the store keeps and the digest hashes), or `pretty`
    for files people read (the same data, keys sorted, indented). The one JSON of a record."""
    data = _as_dict(record)
    if pretty:
        return json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    return canonical_json(data)


def record_digest(record: Record | Mapping[str, Any]) -> str:
    """SHA-256 of the record's content, without the chain head that seals it.

    A stored record's JSON object hashes as it is, so records of every format verify.
    """
    return record.digest if isinstance(record, Record) else _digest_of(record)


def _digest_of(data: Mapping[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "chain_head"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def seal_with(event: Event, record: Record) -> Event:
    """The sealing event, carrying the digest of the record it seals.

    The event is hash-chained, so the record's content is as tamper-evident as the events,
    and stays verifiable after `compose_record` changes (old records are checked against the
    digest their own chain holds, not recomposed by newer code). Applying the event ignores
    these fields, so replay is unchanged.
    """
    return replace(event, payload=DeliberationSealed(RECORD_FORMAT, record_digest(record)))


# --------------------------------------------------------------------------- Markdown


def _provenance_line(p: Mapping[str, Any]) -> str:
    shown = ", ".join(f"#{i}" for i in p.get("given_ids", [])) or "nothing"
    return inline(
        f"Provenance: {p.get('model', '?')} at {p.get('endpoint_host', '?')}; prompt sha256 "
        f"{str(p.get('prompt_sha256', '?'))[:16]}…; shown {shown}; {p.get('left_out', 0)} member(s) left out "
        f"(opted out of AI processing); {p.get('latency_ms', '?')} ms."
    )


def _coverage_line(left: tuple[NotAddressed, ...]) -> str:
    if not left:
        return "Answers or cites every objection left open and every minority position."
    # Names in bold (escaped): a name such as "Grace), #6 (Linus" cannot pass for more of the list.
    return "Not addressed: " + ", ".join(f"#{u.id} (**{inline(u.author)}**)" if u.author else f"#{u.id}" for u in left)


def _stance(stance: str | None) -> str:
    return inline(stance) if stance else "no position"


def _tiers(order: tuple[tuple[int, ...], ...]) -> str:
    return ", then ".join(
        f"#{tier[0]}" if len(tier) == 1 else f"{' and '.join(f'#{i}' for i in tier)} (tied)" for tier in order
    )


def _rankings_markdown(rankings: tuple[DraftRanking, ...]) -> list[str]:
    """Each ranking's count: ballots, the preferred draft(s), the pairwise matrix. No names."""
    if not rankings:
        return []
    out = ["## Rankings of drafts (members' ballots, Schulze method)", ""]
    for k in rankings:
        drafts = ", ".join(f"#{i}" for i in k.drafts)
        out += [f"### Ranking #{k.number} of drafts {drafts}: {k.ballots} ballot(s)", ""]
        if not k.ballots:
            out.append("No member ranked the drafts.")
        elif k.tie:
            out.append(f"Tie: drafts {' and '.join(f'#{i}' for i in k.winners)} are preferred equally.")
        else:
            out.append(f"Preferred: draft #{k.winners[0]}.")
        if k.ballots:
            out.append(f"Order: {_tiers(k.order)}.")
        if not k.closed:
            out.append("Still taking ballots when the deliberation ended.")
        out += ["", "Ballots ranking the row's draft above the column's:", ""]
        out.append("| | " + " | ".join(f"#{i}" for i in k.drafts) + " |")
        out.append("| --- |" + " --- |" * len(k.drafts))
        for i, row in zip(k.drafts, k.preferences, strict=True):
            cells = ["-" if j == i else str(n) for j, n in zip(k.drafts, row, strict=True)]
            out.append(f"| #{i} | " + " | ".join(cells) + " |")
        out += ["", "A ranking only advises: the proposal put to the group is the moderator's.", ""]
    return out


def minute(iso: str | None) -> str:
    """A stored time as people read it: to the minute, with its time zone (no seconds, no microseconds)."""
    if not iso:
        return "-"
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return inline(iso)
    zone = at.tzname()
    return f"{at:%Y-%m-%d %H:%M}" + (f" {zone}" if zone else "")


def _responses_by_target(r: Record) -> dict[int, list[OtherContribution]]:
    """Responses, by what they answer: the record quotes each under it."""
    answered = {p.id for p in r.positions} | {o.id for o in r.objections}
    answered |= {c.id for c in r.other_contributions}
    by_target: dict[int, list[OtherContribution]] = {}
    for c in r.other_contributions:
        if c.kind == ContributionKind.RESPONSE.value and c.reply_to in answered:
            by_target.setdefault(c.reply_to, []).append(c)
    return by_target


def _thread(by_target: dict[int, list[OtherContribution]], item_id: int) -> list[str]:
    """The responses under an item, and theirs under them, in order, each quoted verbatim."""
    out: list[str] = []
    stack = [(c, item_id) for c in reversed(by_target.get(item_id, []))]
    while stack:  # not recursive: a long chain of replies is still one thread
        c, to = stack.pop()
        to_text = "" if to == item_id else f" to #{to}"
        out += [f"Response #{c.id}{to_text} by {inline(c.author.shown)}:", "", quote(c.text), ""]
        stack += [(reply, c.id) for reply in reversed(by_target.get(c.id, []))]
    return out


_STEP_VERBS = {"addressed": "Marked addressed", "standing": "Left standing when the record was sealed"}


def _status_history(o: Objection) -> list[str]:
    """An objection's status changes (format 3), each with who, when and why."""
    out: list[str] = []
    for step in o.history or ():
        verb = _STEP_VERBS.get(step.status, step.status.capitalize())
        line = f"{inline(verb)} by {inline(step.by)}, {minute(step.at)}"
        if step.note:
            line += f" ({inline(step.note)})"
        if step.reason:
            out += [f"{line}. Why:", "", quote(step.reason), ""]
        else:
            out += [f"{line}.", ""]
    return out


def render_markdown(record: Record | Mapping[str, Any]) -> str:
    """A human-readable record. Member and AI text is quoted verbatim, never paraphrased.

    Every piece of member or AI text goes through `quote` (a blockquote) or `inline` (escaped
    within one line), so no text can add a heading, list, table, link or line to the document;
    a blank line follows every quote, so nothing after it continues it.
    """
    r, digest = as_record(record), record_digest(record)  # a stored record's digest without converting back
    out = [f"# Decision record #{r.deliberation_id}: {inline(r.question)}", ""]
    out.append(f"- Outcome: **{inline(r.outcome.label)}**. {inline(r.outcome.reason)}")
    out.append(f"- Process: {inline(r.template)}; moderator: {inline(r.moderator)}")
    out.append(f"- Opened {minute(r.opened_at)}, closed {minute(r.closed_at)}")
    if r.anonymous:
        out.append("- Anonymous: members appear under aliases.")
    out.append("")
    if r.cancel_reason:
        out += ["## Cancelled", "", quote(r.cancel_reason), ""]
    if r.proposal:
        out += ["## Proposal", "", quote(r.proposal.text), "", inline(r.proposal.summary), ""]
    out += ["## Consent (members only)", ""]
    out += [f"- {CONSENT_LABELS[choice]}: {r.tally.of(choice)}" for choice in ConsentChoice]
    out.append("")
    for answer in r.consent_responses:
        if answer.reason:
            out += [f"{inline(answer.member)} ({answer.label}):", "", quote(answer.reason), ""]
    if r.ai_stances:
        out += ["## AI stances (labelled, not counted)", ""]
        out += [f"- {inline(s.label)}: {_stance(s.stance)}" for s in r.ai_stances]
        out.append("")
    out += ["## Standing dissent (verbatim)", ""]
    if not r.has_dissent:
        out += ["None.", ""]
    for o in r.standing_objections:
        out += [f"### {o.kind} #{o.id} by {inline(o.author)}", "", quote(o.what), "", "Why:", "", quote(o.why), ""]
    for m in r.minority_positions:
        out += [f"### Minority position #{m.id} by {inline(m.author)}: {_stance(m.stance)}", ""]
        out += [quote(m.text), "", inline(f"Listed because {'; '.join(m.why_listed)}."), ""]
    by_target = _responses_by_target(r)
    quoted_under = {c.id for replies in by_target.values() for c in replies}
    out += ["## Positions", ""]
    for p in r.positions:
        out += [f"### #{p.id} {inline(p.author.shown)}: {_stance(p.stance)}", "", quote(p.text), ""]
        out += [f"{p.votes}" + (f"; edited {p.edits} time(s)" if p.edits else ""), ""]
        if p.provenance:
            out += [_provenance_line(p.provenance), ""]
        out += _thread(by_target, p.id)
    others = [c for c in r.other_contributions if c.id not in quoted_under]
    if others:
        out += ["## Statements, responses, drafts and critiques", ""]
        for c in others:
            about = f" (on #{c.reply_to})" if c.reply_to else ""
            out += [f"### #{c.id} {inline(c.kind)}{about} by {inline(c.author.shown)}", "", quote(c.text), ""]
            if c.votes is not None:
                out += [f"{c.votes}{'; moderated out' if c.moderated_out else ''}", ""]
            if c.not_addressed is not None:
                out += [_coverage_line(c.not_addressed), ""]
            if c.provenance:
                out += [_provenance_line(c.provenance), ""]
            out += _thread(by_target, c.id)
    if r.draft_lineage:
        out += _lineage_markdown(r.draft_lineage)
    if r.objections:
        out += ["## All objections", ""]
        for o in r.objections:
            out += [f"### #{o.id} {o.kind.lower()} ({inline(o.status)}) by {inline(o.author)}", ""]
            out += [quote(o.what), "", "Why:", "", quote(o.why), ""]
            out += _status_history(o)
            out += _thread(by_target, o.id)
    out += _rankings_markdown(r.rankings or ())
    part = r.participation
    out += ["## Participation", ""]
    out.append(f"- Took part: {', '.join(inline(n) for n in part.spoke) or 'nobody'}")
    out.append(f"- Did not take part: {', '.join(inline(n) for n in part.silent) or 'nobody'}")
    for rf in part.rounds:
        forced = " (closed early by the moderator)" if rf.forced else ""
        out.append(f"- {inline(rf.kind)} round: {rf.minutes if rf.minutes is not None else '-'} minutes{forced}")
    for a in r.ai_unavailable:
        out.append(f"- AI participant {inline(a.name)} was unavailable: {inline(a.reason)}")
    out.append("")
    if r.participants.ai:
        out += ["AI participants at the table:", ""]
        out += [f"- {inline(a.label)}" for a in r.participants.ai]
        out.append("")
    # The digest, not the chain head: the head exists only once stored, and the Markdown is
    # rendered before (the store keeps it as given). The sealing event holds this digest.
    out += ["---", "", f"Record digest (SHA-256 of its canonical JSON): `{digest}`", ""]
    return "\n".join(out)


def _lineage_markdown(drafts: tuple[DraftLineage, ...]) -> list[str]:
    """Each draft's lineage: who drafted it, what it revises and what revised it, its critiques verbatim."""
    out = ["## Drafts: who drafted, who critiqued, what was revised", ""]
    for draft in drafts:
        out += [f"### Draft #{draft.id} by {inline(draft.drafted_by.shown)}", ""]
        if draft.revises is not None:
            out.append(f"- Revises draft #{draft.revises}, to answer its critiques.")
        if draft.revised_by:
            out.append(f"- Revised as: {', '.join(f'draft #{i}' for i in draft.revised_by)}.")
        out += [f"- Critiques: {len(draft.critiques) or 'none'}.", ""]
        for k in draft.critiques:
            out += [f"Critique #{k.id} by {inline(k.author.shown)}:", "", quote(k.text), ""]
    return out
