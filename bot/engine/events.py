"""The event vocabulary: every kind of change a deliberation (or a guild) records, typed.

An event is who acted, when, and a typed payload; the payload's class says its kind. The stored
form (a kind string and a JSON object) is written and read here and nowhere else: `encode` and
`decode` are the one pair, and they reproduce the bytes every earlier release wrote, so stored
chains and their hashes never change (`tests/engine/test_events.py` replays a database written
before the vocabulary was typed).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, ClassVar, Union

from bot.engine.model import (
    Actor,
    AIParticipantSpec,
    ConsentChoice,
    ContributionKind,
    DeliberationSettings,
    ObjectionStatus,
    ProposalSource,
    Role,
    Vote,
)
from bot.engine.templates import RoundKind


class EventKind(StrEnum):
    """Every kind of event, with the string each is stored under."""

    OPENED = "deliberation.opened"
    JOINED = "participant.joined"
    ROLE_CHANGED = "participant.role"
    AI_OPT_OUT = "participant.ai_opt_out"
    REMINDERS = "participant.reminders"
    ROUND_OPENED = "round.opened"
    ROUND_CLOSED = "round.closed"
    ROUND_EXTENDED = "round.extended"
    CONTRIBUTION_ADDED = "contribution.added"
    CONTRIBUTION_EDITED = "contribution.edited"
    VOTE_CAST = "vote.cast"
    OBJECTION_RAISED = "objection.raised"
    OBJECTION_MOVED = "objection.moved"
    PROPOSAL_SET = "proposal.set"
    CONSENT_GIVEN = "consent.given"
    STATEMENT_MODERATED = "statement.moderated"
    AI_REQUESTED = "ai.requested"
    AI_UNAVAILABLE = "ai.unavailable"
    CANCELLED = "deliberation.cancelled"
    SEALED = "deliberation.sealed"
    GUILD_CONFIGURED = "guild.configured"
    RANKING_OPENED = "ranking.opened"
    BALLOT_CAST = "ranking.ballot"
    RANKING_CLOSED = "ranking.closed"


def _omitted(*, when: Any = None) -> Any:
    """A payload field left out of the stored JSON while it equals `when` (None, or empty)."""
    return field(default=when, metadata={"omit": when})


# ---------------------------------------------------------------------- payloads


@dataclass(frozen=True)
class DeliberationOpened:
    KIND: ClassVar[EventKind] = EventKind.OPENED
    question: str
    template: str
    rounds: tuple[RoundKind, ...]
    settings: DeliberationSettings
    moderator: str
    ai_participants: tuple[AIParticipantSpec, ...]
    # Whom it waits for (actor keys): an invited role's members or a list; empty when open to all.
    invited: tuple[str, ...] = _omitted(when=())


@dataclass(frozen=True)
class ParticipantJoined:
    KIND: ClassVar[EventKind] = EventKind.JOINED
    role: Role
    name: str


@dataclass(frozen=True)
class RoleChanged:
    KIND: ClassVar[EventKind] = EventKind.ROLE_CHANGED
    role: Role


@dataclass(frozen=True)
class AIOptOutSet:
    KIND: ClassVar[EventKind] = EventKind.AI_OPT_OUT
    opted_out: bool


@dataclass(frozen=True)
class RemindersSet:
    KIND: ClassVar[EventKind] = EventKind.REMINDERS
    on: bool


@dataclass(frozen=True)
class RoundOpened:
    KIND: ClassVar[EventKind] = EventKind.ROUND_OPENED
    round: int
    deadline: datetime
    min_close_at: datetime


@dataclass(frozen=True)
class RoundClosed:
    KIND: ClassVar[EventKind] = EventKind.ROUND_CLOSED
    round: int
    forced: bool


@dataclass(frozen=True)
class RoundExtended:
    KIND: ClassVar[EventKind] = EventKind.ROUND_EXTENDED
    round: int
    deadline: datetime


@dataclass(frozen=True)
class ContributionAdded:
    KIND: ClassVar[EventKind] = EventKind.CONTRIBUTION_ADDED
    id: int
    kind: ContributionKind
    text: str
    round: int
    stance: str | None = _omitted()
    reply_to: int | None = _omitted()
    answers: tuple[int, ...] = _omitted(when=())
    ai: Mapping[str, Any] | None = _omitted()  # provenance of an AI contribution
    # A draft that revises another to answer its critiques (`/summary revise`): that draft's id.
    revises: int | None = _omitted()


@dataclass(frozen=True)
class ContributionEdited:
    KIND: ClassVar[EventKind] = EventKind.CONTRIBUTION_EDITED
    id: int
    stance: str | None
    text: str


@dataclass(frozen=True)
class Voted:
    KIND: ClassVar[EventKind] = EventKind.VOTE_CAST
    statement: int
    vote: Vote


@dataclass(frozen=True)
class ObjectionRaised:
    KIND: ClassVar[EventKind] = EventKind.OBJECTION_RAISED
    id: int
    what: str
    why: str
    target: int | None
    block: bool


@dataclass(frozen=True)
class ObjectionMoved:
    KIND: ClassVar[EventKind] = EventKind.OBJECTION_MOVED
    id: int
    status: ObjectionStatus
    # Why it moved, verbatim: required to mark an objection addressed, optional otherwise. Earlier
    # releases wrote no reason, and their bytes stay the same (left out when empty).
    reason: str = _omitted(when="")


@dataclass(frozen=True)
class ProposalSet:
    KIND: ClassVar[EventKind] = EventKind.PROPOSAL_SET
    text: str
    source: ProposalSource
    draft: int | None


@dataclass(frozen=True)
class ConsentGiven:
    KIND: ClassVar[EventKind] = EventKind.CONSENT_GIVEN
    choice: ConsentChoice
    reason: str


@dataclass(frozen=True)
class StatementModerated:
    KIND: ClassVar[EventKind] = EventKind.STATEMENT_MODERATED
    id: int
    hidden: bool


@dataclass(frozen=True)
class AIRequested:
    KIND: ClassVar[EventKind] = EventKind.AI_REQUESTED
    round: int


@dataclass(frozen=True)
class AIUnavailableNoted:
    KIND: ClassVar[EventKind] = EventKind.AI_UNAVAILABLE
    reason: str
    # Which of the deliberation's notes this is (0, 1, ...): names the notice the members are owed.
    # Notes stored before the outbox posted them carry none, and owe nothing.
    number: int | None = _omitted()


@dataclass(frozen=True)
class DeliberationCancelled:
    KIND: ClassVar[EventKind] = EventKind.CANCELLED
    reason: str


@dataclass(frozen=True)
class DeliberationSealed:
    """The last event of a decided deliberation; it carries the digest of the record it seals."""

    KIND: ClassVar[EventKind] = EventKind.SEALED
    record_format: int | None = _omitted()
    record_digest: str | None = _omitted()


@dataclass(frozen=True)
class GuildConfigured:
    """A guild's settings, in the guild's own chain."""

    KIND: ClassVar[EventKind] = EventKind.GUILD_CONFIGURED
    moderator_role_id: int | None
    archive_channel_id: int | None
    ai_enabled: bool


# ---------------------------------------------------------------------- rankings of drafts


@dataclass(frozen=True)
class RankingOpened:
    """The moderator opens ranking number `number` over these drafts (the ones standing then)."""

    KIND: ClassVar[EventKind] = EventKind.RANKING_OPENED
    number: int
    drafts: tuple[int, ...]


@dataclass(frozen=True)
class BallotCast:
    """A member's ranking of the drafts, best first; drafts left out rank below those named.

    A later ballot by the same member replaces this one while the ranking is open.
    """

    KIND: ClassVar[EventKind] = EventKind.BALLOT_CAST
    ranking: int
    order: tuple[int, ...]


@dataclass(frozen=True)
class RankingClosed:
    """The ranking takes no more ballots: the moderator closed it, or its round closed."""

    KIND: ClassVar[EventKind] = EventKind.RANKING_CLOSED
    ranking: int


Payload = Union[  # noqa: UP007 (a runtime union, for `typing.get_args`)
    DeliberationOpened,
    ParticipantJoined,
    RoleChanged,
    AIOptOutSet,
    RemindersSet,
    RoundOpened,
    RoundClosed,
    RoundExtended,
    ContributionAdded,
    ContributionEdited,
    Voted,
    ObjectionRaised,
    ObjectionMoved,
    ProposalSet,
    ConsentGiven,
    StatementModerated,
    AIRequested,
    AIUnavailableNoted,
    DeliberationCancelled,
    DeliberationSealed,
    GuildConfigured,
    RankingOpened,
    BallotCast,
    RankingClosed,
]

PAYLOADS: dict[EventKind, type[Any]] = {cls.KIND: cls for cls in typing.get_args(Payload)}
assert set(PAYLOADS) == set(EventKind), "every event kind has exactly one payload class"


@dataclass(frozen=True)
class Event:
    """One state change: who, when, and what (the payload, whose class is its kind)."""

    actor: Actor
    at: datetime
    payload: Payload

    @property
    def kind(self) -> EventKind:
        return self.payload.KIND


def owed_posts(events: Sequence[Event]) -> list[str]:
    """The posts these events owe Discord, named as the outbox and `posts` name them.

    `agenda` (the thread and its agenda), `c:<id>` and `o:<id>` (a contribution, an objection),
    `round-opened:<i>`, `round-closed:<i>`, `extended:<i>:<deadline>`, `cancelled`, an AI
    participant's notice that it gave nothing usable (`ai-notice:<n>`), the sealed
    record in the thread and the archive channel (`record`, `record-archive`), a ranking of drafts
    opened and its result (`ranking:<n>`, `ranking-result:<n>`), and a private note to an
    objection's author when it is marked addressed (`addressed:<id>:<when>`). The first round is
    announced by the agenda.
    """
    refs: list[str] = []
    for e in events:
        match e.payload:
            case DeliberationOpened():
                refs.append("agenda")
            case ContributionAdded(id=i):
                refs.append(f"c:{i}")
            case ObjectionRaised(id=i):
                refs.append(f"o:{i}")
            case RoundOpened(round=i) if i > 0:
                refs.append(f"round-opened:{i}")
            case RoundClosed(round=i):
                refs.append(f"round-closed:{i}")
            case RoundExtended(round=i, deadline=deadline):
                refs.append(f"extended:{i}:{deadline.isoformat()}")
            case DeliberationCancelled():
                refs.append("cancelled")
            case AIUnavailableNoted(number=int(n)):
                refs.append(f"ai-notice:{n}")
            case DeliberationSealed():
                refs += ["record", "record-archive"]
            case RankingOpened(number=n):
                refs.append(f"ranking:{n}")
            case RankingClosed(ranking=n):
                refs.append(f"ranking-result:{n}")
            case ObjectionMoved(id=i, status=ObjectionStatus.ADDRESSED, reason=why) if why:
                # The objection's author is told privately, with the reason (`addressed:<id>:<when>`).
                refs.append(f"addressed:{i}:{e.at.isoformat()}")
    return refs


# ---------------------------------------------------------------------- the stored form


class MalformedEvent(ValueError):
    """A stored event whose payload does not fit its kind (verification reports it)."""


def encode(payload: Payload) -> dict[str, Any]:
    """The JSON object a payload is stored as, key for key what earlier releases wrote."""
    return _encode_dataclass(payload)


def decode(kind: str, data: Mapping[str, Any]) -> Payload:
    """The typed payload of a stored event; raises `MalformedEvent` if it does not fit its kind."""
    try:
        cls = PAYLOADS[EventKind(kind)]
    except ValueError:
        raise MalformedEvent(f"unknown event kind {kind!r}") from None
    try:
        payload: Payload = _decode_dataclass(cls, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"{kind} payload does not fit its kind: {exc}") from None
    return payload


def _encode_dataclass(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if "omit" in f.metadata and item == f.metadata["omit"]:
            continue
        out[f.name] = _encode_value(item)
    return out


def _encode_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_dataclass(value)
    if isinstance(value, tuple | list):
        return [_encode_value(v) for v in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _decode_dataclass(cls: type[Any], data: Mapping[str, Any]) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"unexpected field(s) {', '.join(sorted(unknown))}")
    values = {}
    for name, f in fields.items():
        if name in data:
            values[name] = _decode_value(hints[name], data[name])
        elif f.default is dataclasses.MISSING and "omit" not in f.metadata:
            raise KeyError(name)
    return cls(**values)


def _decode_value(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            if len(options) == len(typing.get_args(hint)):
                raise TypeError("null where a value is required")
            return None
        return _decode_value(options[0], value)
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        return tuple(_decode_value(item, v) for v in value)
    if origin is not None and issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return dict(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, value)
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected a whole number, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"expected text, got {value!r}")
        return value
    raise TypeError(f"no decoder for {hint!r}")  # pragma: no cover - a new field type needs one


__all__ = [
    "PAYLOADS",
    "AIOptOutSet",
    "AIRequested",
    "AIUnavailableNoted",
    "BallotCast",
    "ConsentGiven",
    "ContributionAdded",
    "ContributionEdited",
    "DeliberationCancelled",
    "DeliberationOpened",
    "DeliberationSealed",
    "Event",
    "EventKind",
    "GuildConfigured",
    "MalformedEvent",
    "ObjectionMoved",
    "ObjectionRaised",
    "ParticipantJoined",
    "Payload",
    "ProposalSet",
    "RankingClosed",
    "RankingOpened",
    "RemindersSet",
    "RoleChanged",
    "RoundClosed",
    "RoundExtended",
    "RoundOpened",
    "StatementModerated",
    "Voted",
    "decode",
    "encode",
    "owed_posts",
]
