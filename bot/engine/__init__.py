"""The deliberation engine: plain Python, no Discord, no network, no clock of its own."""

from bot.engine.deliberation import EVENT_KINDS, Deliberation, clean_text
from bot.engine.errors import RoundtableError
from bot.engine.events import Event, EventKind
from bot.engine.model import (
    Actor,
    ActorKind,
    AIParticipantSpec,
    ConsentChoice,
    ContributionKind,
    DeliberationSettings,
    DeliberationStatus,
    ObjectionStatus,
    ProposalSource,
    Role,
    Vote,
)
from bot.engine.outcome import Outcome, OutcomeKind, decide_outcome
from bot.engine.record import Record, ai_label, compose_record, outcome_of, record_digest, record_json, render_markdown
from bot.engine.templates import BUILTIN_TEMPLATES, RoundKind

__all__ = [
    "BUILTIN_TEMPLATES",
    "EVENT_KINDS",
    "AIParticipantSpec",
    "Actor",
    "ActorKind",
    "ConsentChoice",
    "ContributionKind",
    "Deliberation",
    "DeliberationSettings",
    "DeliberationStatus",
    "Event",
    "EventKind",
    "ObjectionStatus",
    "Outcome",
    "OutcomeKind",
    "ProposalSource",
    "Record",
    "Role",
    "RoundKind",
    "RoundtableError",
    "Vote",
    "ai_label",
    "clean_text",
    "compose_record",
    "decide_outcome",
    "outcome_of",
    "record_digest",
    "record_json",
    "render_markdown",
]
