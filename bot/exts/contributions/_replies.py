"""The short ephemeral answers a member gets once their action is stored."""

from __future__ import annotations

from bot.engine.model import CONSENT_LABELS, ConsentChoice, ContributionKind
from bot.service import Change


def position(change: Change) -> str:
    edited = next((e for e in change.events if e.kind == "contribution.edited"), None)
    if edited is not None:
        return f"Your position #{edited.payload['id']} is updated; the earlier version stays in its history."
    ids = change.added(ContributionKind.POSITION)
    return f"Your position is posted as #{ids[0]}. State it again to edit it."


def objection(change: Change) -> str:
    return f"Your objection is posted as #{change.added()[0]}."


def statement(change: Change) -> str:
    return f"Your statement is posted as #{change.added(ContributionKind.STATEMENT)[0]}; members can now vote on it."


def vote(change: Change) -> str:
    cast = next(e for e in change.events if e.kind == "vote.cast")
    return f"Your vote on #{cast.payload['statement']} is recorded: {cast.payload['vote']}."


def moved(change: Change) -> str:
    e = next(e for e in change.events if e.kind == "objection.moved")
    return f"Objection #{e.payload['id']} is now {e.payload['status']}."


def consent(change: Change) -> str:
    given = next(e for e in change.events if e.kind == "consent.given")
    label = CONSENT_LABELS[ConsentChoice(given.payload["choice"])]
    text = f"Your answer is recorded: {label}."
    if change.has("objection.raised"):
        text += " Your reason is posted as an objection and will be quoted in the record."
    return text
