"""The short ephemeral answers a member gets once their action is stored."""

from __future__ import annotations

from bot.engine.model import CONSENT_LABELS, ContributionKind
from bot.service import Change


def position(change: Change) -> str:
    if change.edited is not None:
        return f"Your position #{change.edited} is updated; the earlier version stays in its history."
    ids = change.added(ContributionKind.POSITION)
    return f"Your position is posted as #{ids[0]}. State it again to edit it."


def objection(change: Change) -> str:
    return f"Your objection is posted as #{change.added()[0]}."


def statement(change: Change) -> str:
    return f"Your statement is posted as #{change.added(ContributionKind.STATEMENT)[0]}; members can now vote on it."


def vote(change: Change) -> str:
    cast = change.vote
    assert cast is not None
    return f"Your vote on #{cast.statement} is recorded: {cast.vote.value}."


def moved(change: Change) -> str:
    moved = change.moved
    assert moved is not None
    return f"Objection #{moved.id} is now {moved.status.value}."


def consent(change: Change) -> str:
    given = change.consent
    assert given is not None
    text = f"Your answer is recorded: {CONSENT_LABELS[given.choice]}."
    if change.block_raised:
        text += " Your reason is posted as an objection and will be quoted in the record."
    return text
