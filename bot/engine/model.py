"""The deliberation's vocabulary: who acts, what they contribute, and the limits on text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from bot.engine.templates import RoundKind

# Limits follow what a Discord modal allows (4,000 characters per paragraph input).
TEXT_MAX = 4000
STATEMENT_MAX = 1000
STANCE_MAX = 200
QUESTION_MAX = 1000
REASON_MAX = 1000


class Role(StrEnum):
    MODERATOR = "moderator"
    PARTICIPANT = "participant"
    OBSERVER = "observer"


class ActorKind(StrEnum):
    HUMAN = "human"
    AI = "ai"
    SYSTEM = "system"


class DeliberationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class RoundStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


class ContributionKind(StrEnum):
    POSITION = "position"
    STATEMENT = "statement"  # a short claim others vote on (Polis-style), beside the positions
    RESPONSE = "response"
    CRITIQUE = "critique"
    DRAFT = "draft"


class ObjectionStatus(StrEnum):
    OPEN = "open"
    ADDRESSED = "addressed"
    WITHDRAWN = "withdrawn"
    STANDING = "standing"


class Vote(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    PASS = "pass"


class ConsentChoice(StrEnum):
    ENDORSE = "endorse"
    RESERVATIONS = "reservations"
    STAND_ASIDE = "stand_aside"
    BLOCK = "block"


CONSENT_LABELS: dict[ConsentChoice, str] = {
    ConsentChoice.ENDORSE: "Endorse",
    ConsentChoice.RESERVATIONS: "Agree with reservations",
    ConsentChoice.STAND_ASIDE: "Stand aside",
    ConsentChoice.BLOCK: "Block",
}


class ProposalSource(StrEnum):
    MOTION = "motion"  # nobody proposed: the question itself is put to the group
    HUMAN = "human"  # written by the moderator
    ADOPTED = "adopted"  # a draft adopted as is
    AMENDED = "amended"  # a draft adopted with the moderator's changes


# Which inputs each round accepts; everything else is refused with WrongRound.
ACCEPTS: dict[RoundKind, frozenset[str]] = {
    RoundKind.POSITIONS: frozenset({"position", "vote"}),
    RoundKind.DISSENT: frozenset({"objection", "response", "statement", "vote"}),
    RoundKind.SYNTHESIS: frozenset({"objection", "draft", "critique", "proposal"}),
    RoundKind.CONSENT: frozenset({"consent"}),
}


@dataclass(frozen=True)
class Actor:
    """Whoever acts: a member (by Discord user id), an AI participant (by name), or the system."""

    kind: ActorKind
    id: str
    name: str = ""
    # The member holds the guild's moderator rights (its moderator role, or Manage Server), so
    # may run any deliberation there, not only the ones they opened. Never stored: the events
    # record who acted, and each decision checks the rights the member has at that moment.
    moderates: bool = field(default=False, compare=False)

    @classmethod
    def human(cls, member_id: int, name: str = "", *, moderates: bool = False) -> Actor:
        return cls(ActorKind.HUMAN, str(member_id), name or f"member {member_id}", moderates)

    @classmethod
    def ai(cls, name: str) -> Actor:
        return cls(ActorKind.AI, name, name)

    @classmethod
    def system(cls, reason: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, reason, reason)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @property
    def member_id(self) -> int | None:
        return int(self.id) if self.kind is ActorKind.HUMAN else None

    @classmethod
    def from_key(cls, key: str, name: str = "") -> Actor:
        kind, _, ident = key.partition(":")
        return cls(ActorKind(kind), ident, name or ident)


@dataclass(frozen=True)
class AIParticipantSpec:
    """An AI participant seated at a deliberation: how it is labelled wherever it speaks."""

    name: str
    model: str
    endpoint_host: str = ""
    persona: str = ""


AITask = Literal["position", "critique", "draft"]
AI_LABEL = "AI participant · {name} · {model} · not authoritative"


def ai_label(name: str, model: str) -> str:
    """The label every AI contribution carries, wherever it is shown (principle 1).

    Names come from the configuration, yet the label is posted: one line, no control or
    formatting characters, and an "@" that can never start a mention.
    """
    return AI_LABEL.format(name=_label_part(name, 40, "unnamed"), model=_label_part(model, 80, "unknown model"))


def _label_part(text: str, limit: int, fallback: str) -> str:
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split()).replace("@", "@\u200b")[:limit] or fallback


@dataclass(frozen=True)
class DeliberationSettings:
    anonymous: bool = False
    quorum: int = 3
    round_minutes: int = 1440
    min_round_minutes: int = 10
    ai_enabled: bool = True
    reveal_aliases_to_moderator: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "anonymous": self.anonymous,
            "quorum": self.quorum,
            "round_minutes": self.round_minutes,
            "min_round_minutes": self.min_round_minutes,
            "ai_enabled": self.ai_enabled,
            "reveal_aliases_to_moderator": self.reveal_aliases_to_moderator,
        }


@dataclass
class Participant:
    key: str
    kind: ActorKind
    name: str
    role: Role
    joined_at: datetime
    alias: str = ""
    ai_opt_out: bool = False
    reminders: bool = False  # mention this member when a round opens
    model: str = ""
    endpoint_host: str = ""

    @property
    def is_human(self) -> bool:
        return self.kind is ActorKind.HUMAN


@dataclass(frozen=True)
class Revision:
    stance: str | None
    text: str
    at: datetime


@dataclass
class Contribution:
    id: int
    kind: ContributionKind
    author: str
    round_index: int
    at: datetime
    stance: str | None
    text: str
    reply_to: int | None = None
    answers: tuple[int, ...] = ()
    ai_meta: dict[str, Any] | None = None
    updated_at: datetime | None = None
    revises: int | None = None  # a draft revised to answer critiques: the draft it revises
    history: list[Revision] = field(default_factory=list)  # earlier versions, oldest first

    @property
    def by_ai(self) -> bool:
        return self.author.startswith(ActorKind.AI.value + ":")


@dataclass(frozen=True)
class StatusChange:
    status: ObjectionStatus
    by: str
    at: datetime
    reason: str = ""  # why, verbatim, when one was given (marking addressed needs one)


@dataclass
class Objection:
    id: int
    author: str
    round_index: int
    at: datetime
    what: str
    why: str
    status: ObjectionStatus = ObjectionStatus.OPEN
    from_block: bool = False
    target: int | None = None
    history: list[StatusChange] = field(default_factory=list)


@dataclass
class Round:
    index: int
    kind: RoundKind
    status: RoundStatus = RoundStatus.PENDING
    opened_at: datetime | None = None
    deadline: datetime | None = None
    min_close_at: datetime | None = None
    closed_at: datetime | None = None
    forced: bool = False
    closed_by: str = ""
    ai_requested: bool = False


@dataclass(frozen=True)
class VoteCast:
    statement_id: int
    member: str
    vote: Vote
    at: datetime


@dataclass(frozen=True)
class ConsentResponse:
    member: str
    choice: ConsentChoice
    reason: str
    at: datetime


@dataclass(frozen=True)
class Proposal:
    text: str
    source: ProposalSource
    by: str
    at: datetime
    draft_id: int | None = None
