"""The short ephemeral answers a member gets once their action is stored.

They are sent as soon as the action is stored, before anything it owes Discord is posted (the
courier posts it next, and retries while Discord is failing), so they never say "posted": a member
is answered within Discord's three seconds even in a burst, whatever Discord's side is doing.
"""

from __future__ import annotations

from bot.engine.model import CONSENT_LABELS, ContributionKind, ObjectionStatus
from bot.service import Change


def _placed(what: str, number: int) -> str:
    return f"{what} is recorded as #{number}; it is being posted in the thread."


def position(change: Change) -> str:
    if change.edited is not None:
        return f"Your position #{change.edited} is updated; the earlier version stays in its history."
    ids = change.added(ContributionKind.POSITION)
    return _placed("Your position", ids[0]) + " State it again to edit it."


def objection(change: Change) -> str:
    return _placed("Your objection", change.added()[0])


def statement(change: Change) -> str:
    number = change.added(ContributionKind.STATEMENT)[0]
    return f"Your statement is recorded as #{number}; members can vote on it once it appears in the thread."


def response(change: Change) -> str:
    return _placed("Your response", change.added(ContributionKind.RESPONSE)[0])


def critique(change: Change) -> str:
    (number,) = change.added(ContributionKind.CRITIQUE)
    draft = change.deliberation.contributions[number].reply_to
    return _placed(f"Your critique of draft #{draft}", number)


def vote(change: Change) -> str:
    cast = change.vote
    assert cast is not None
    return f"Your vote on #{cast.statement} is recorded: {cast.vote.value}."


def moved(change: Change) -> str:
    moved = change.moved
    assert moved is not None
    if moved.status is ObjectionStatus.ADDRESSED:
        return (
            f"Objection #{moved.id} is now addressed. Its author is being told, with your reason; they may reopen"
            " it. The record quotes your reason."
        )
    return f"Objection #{moved.id} is now {moved.status.value}."


def consent(change: Change) -> str:
    given = change.consent
    assert given is not None
    text = f"Your answer is recorded: {CONSENT_LABELS[given.choice]}."
    if change.block_raised:
        text += " Your reason is recorded as an objection; it is being posted and will be quoted in the record."
    return text
