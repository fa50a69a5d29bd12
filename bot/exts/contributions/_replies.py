"""The short ephemeral answers a member gets once their action is stored.

`posted` says whether what the action owes Discord is already there; when Discord did not take
it, the member is told it is stored and will appear (the outbox retries it).
"""

from __future__ import annotations

from bot.engine.model import CONSENT_LABELS, ContributionKind, ObjectionStatus
from bot.service import Change

PENDING = " Discord did not take the post just now; it will appear in the thread shortly."


def _placed(what: str, number: int, posted: bool) -> str:
    return f"{what} is posted as #{number}." if posted else f"{what} is stored as #{number}.{PENDING}"


def position(change: Change, posted: bool) -> str:
    if change.edited is not None:
        return f"Your position #{change.edited} is updated; the earlier version stays in its history."
    ids = change.added(ContributionKind.POSITION)
    return _placed("Your position", ids[0], posted) + " State it again to edit it."


def objection(change: Change, posted: bool) -> str:
    return _placed("Your objection", change.added()[0], posted)


def statement(change: Change, posted: bool) -> str:
    number = change.added(ContributionKind.STATEMENT)[0]
    if posted:
        return f"Your statement is posted as #{number}; members can now vote on it."
    return _placed("Your statement", number, posted)


def response(change: Change, posted: bool) -> str:
    return _placed("Your response", change.added(ContributionKind.RESPONSE)[0], posted)


def critique(change: Change, posted: bool) -> str:
    (number,) = change.added(ContributionKind.CRITIQUE)
    draft = change.deliberation.contributions[number].reply_to
    return _placed(f"Your critique of draft #{draft}", number, posted)


def vote(change: Change, posted: bool) -> str:
    cast = change.vote
    assert cast is not None
    return f"Your vote on #{cast.statement} is recorded: {cast.vote.value}."


def moved(change: Change, posted: bool) -> str:
    moved = change.moved
    assert moved is not None
    if moved.status is ObjectionStatus.ADDRESSED:
        told = "Its author is told, with your reason" if posted else "Its author will be told, with your reason"
        return f"Objection #{moved.id} is now addressed. {told}; they may reopen it. The record quotes your reason."
    return f"Objection #{moved.id} is now {moved.status.value}."


def consent(change: Change, posted: bool) -> str:
    given = change.consent
    assert given is not None
    text = f"Your answer is recorded: {CONSENT_LABELS[given.choice]}."
    if change.block_raised:
        text += " Your reason is posted as an objection and will be quoted in the record."
        if not posted:
            text += PENDING
    return text
