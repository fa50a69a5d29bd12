"""Replay a deliberation's stored events through the engine's rules, refusing any that could not have happened.

`Deliberation.apply` never refuses: events were checked when they were decided. An event
written into the file by hand was not, so `verify` checks each one against the state before
it (the same conditions the engine's decide methods require) and only then applies it. Where an
action is one event, the engine is asked to decide it again and must give back that event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from bot.engine import errors
from bot.engine.deliberation import VOTABLE, Deliberation
from bot.engine.model import (
    ACCEPTS,
    Actor,
    ActorKind,
    ConsentChoice,
    ContributionKind,
    DeliberationStatus,
    Event,
    ObjectionStatus,
    ProposalSource,
    Role,
    RoundStatus,
    Vote,
)


class InvalidEvent(Exception):
    """A stored event the engine's rules would never have produced in this state."""


def replay(deliberation_id: int, guild_id: int, events: Iterable[Event]) -> Deliberation:
    """The deliberation the events make, checking each against the state before it.

    Raises `InvalidEvent` naming the first event (1-based, as its `seq`) that breaks a rule.
    """
    d = Deliberation(deliberation_id, guild_id)
    # Times are not required to rise: an imported conversation (bot/polis.py) keeps its own.
    for seq, event in enumerate(events, start=1):
        try:
            _check(d, seq, event)
            d.apply(event)
        except InvalidEvent as exc:
            raise InvalidEvent(f"event seq {seq} ({event.kind}): {exc}") from None
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidEvent(f"event seq {seq} ({event.kind}): malformed payload ({exc!r})") from None
    return d


def _check(d: Deliberation, seq: int, e: Event) -> None:
    if (seq == 1) != (e.kind == "deliberation.opened"):
        raise InvalidEvent("a deliberation opens with its first event, and only then")
    if seq > 1 and d.status is not DeliberationStatus.OPEN:
        raise InvalidEvent(f"the deliberation was already {d.status.value}")
    check = _CHECKS.get(e.kind)
    if check is None:
        raise InvalidEvent("not an event kind the engine knows")
    check(d, e)


def _same(decided: list[Event], e: Event) -> None:
    """The engine, asked again, must decide exactly this event."""
    if len(decided) != 1 or decided[0].kind != e.kind or decided[0].payload != e.payload:
        raise InvalidEvent("the engine decides something else for this action")


def _redecide(decide: Callable[[], list[Event]], e: Event) -> None:
    try:
        decided = decide()
    except errors.RoundtableError as refusal:
        raise InvalidEvent(f"the engine refuses it: {refusal.user_message}") from None
    _same(decided, e)


def _member(d: Deliberation, actor: Actor, *, voice: bool = True) -> None:
    if actor.kind is not ActorKind.HUMAN:
        raise InvalidEvent("only a member does this")
    p = d.participants.get(actor.key)
    if p is None:
        raise InvalidEvent(f"{actor.key} has not joined")
    if voice and p.role is Role.OBSERVER:
        raise InvalidEvent(f"{actor.key} is an observer")


def _moderator(d: Deliberation, actor: Actor) -> None:
    p = d.participants.get(actor.key)
    if actor.kind is not ActorKind.HUMAN or p is None or p.role is not Role.MODERATOR:
        raise InvalidEvent(f"{actor.key} is not the moderator")


def _round_accepts(d: Deliberation, what: str) -> None:
    if d.round.status is not RoundStatus.OPEN or what not in ACCEPTS[d.round.kind]:
        raise InvalidEvent(f"the {d.round.kind.value} round does not take {what}s")


def _opened(d: Deliberation, e: Event) -> None:
    p = e.payload
    if e.actor.kind is not ActorKind.HUMAN or p["moderator"] != e.actor.key:
        raise InvalidEvent("a member opens a deliberation and moderates it")
    if not isinstance(p["question"], str) or not p["question"].strip() or not p["rounds"]:
        raise InvalidEvent("no question or no rounds")


def _joined(d: Deliberation, e: Event) -> None:
    role = Role(e.payload["role"])
    if e.actor.kind is not ActorKind.HUMAN:
        raise InvalidEvent("AI participants are seated when the deliberation opens")
    if e.actor.key in d.participants:
        raise InvalidEvent(f"{e.actor.key} had joined already")
    if (role is Role.MODERATOR) != (e.actor.key == d.moderator and not any(d.humans(include_observers=True))):
        raise InvalidEvent("only the member who opened it joins as moderator, first")


def _role(d: Deliberation, e: Event) -> None:
    _member(d, e.actor, voice=False)
    role = Role(e.payload["role"])
    current = d.participants[e.actor.key].role
    if role is Role.MODERATOR or current is Role.MODERATOR or role is current or d.spoke(e.actor.key):
        raise InvalidEvent("this role change is not allowed")


def _participant_flag(d: Deliberation, e: Event) -> None:
    _member(d, e.actor, voice=False)


def _round_opened(d: Deliberation, e: Event) -> None:
    index = e.payload["round"]
    expected = 0 if not any(r.opened_at for r in d.rounds) else d.current + 1
    if index != expected or index >= len(d.rounds):
        raise InvalidEvent(f"round {index} opens out of turn (expected {expected})")
    if index > 0 and d.round.status is not RoundStatus.CLOSED:
        raise InvalidEvent("the round before it is still open")
    datetime.fromisoformat(e.payload["deadline"])
    datetime.fromisoformat(e.payload["min_close_at"])


def _round_closed(d: Deliberation, e: Event) -> None:
    if e.payload["round"] != d.current or d.round.status is not RoundStatus.OPEN:
        raise InvalidEvent(f"round {e.payload['round']} is not the open round")
    if e.actor.kind is not ActorKind.SYSTEM:
        _moderator(d, e.actor)


def _extended(d: Deliberation, e: Event) -> None:
    _moderator(d, e.actor)
    if e.payload["round"] != d.current or d.round.status is not RoundStatus.OPEN:
        raise InvalidEvent("only the open round is extended")
    datetime.fromisoformat(e.payload["deadline"])


def _contribution_added(d: Deliberation, e: Event) -> None:
    p = e.payload
    kind = ContributionKind(p["kind"])
    if p["id"] != d.next_id:
        raise InvalidEvent(f"id {p['id']} is not the next id ({d.next_id})")
    if p["round"] != d.current:
        raise InvalidEvent(f"it names round {p['round']}, not the current one")
    _round_accepts(d, kind.value)
    if e.actor.kind is ActorKind.AI:
        if e.actor.id not in d.ai_seats:
            raise InvalidEvent(f"no AI participant called {e.actor.id} sits here")
    else:
        _member(d, e.actor)
    if kind is ContributionKind.POSITION and d.position_of(e.actor.key) is not None:
        # A second position is an edit of the first (`state_position`), never a new one.
        raise InvalidEvent(f"{e.actor.key} had stated a position already")
    if not isinstance(p["text"], str) or not p["text"].strip():
        raise InvalidEvent("its text is empty")
    reply_to = p.get("reply_to")
    if reply_to is not None and reply_to not in d.contributions and reply_to not in d.objections:
        raise InvalidEvent(f"it answers #{reply_to}, which does not exist")


def _edited(d: Deliberation, e: Event) -> None:
    c = d.contributions.get(e.payload["id"])
    if c is None:
        raise InvalidEvent(f"there is no contribution #{e.payload['id']}")
    if c.author != e.actor.key or c.by_ai:
        raise InvalidEvent(f"#{c.id} is not {e.actor.key}'s to edit")
    _round_accepts(d, c.kind.value)


def _vote(d: Deliberation, e: Event) -> None:
    _member(d, e.actor)
    _round_accepts(d, "vote")
    Vote(e.payload["vote"])
    c = d.contributions.get(e.payload["statement"])
    if c is None or c.kind not in VOTABLE:
        raise InvalidEvent(f"#{e.payload['statement']} is not a position or statement")
    if c.id in d.moderated_out:
        raise InvalidEvent(f"#{c.id} was moderated out")


def _objection(d: Deliberation, e: Event) -> None:
    p = e.payload
    _member(d, e.actor)
    if p["id"] != d.next_id:
        raise InvalidEvent(f"id {p['id']} is not the next id ({d.next_id})")
    if p.get("block"):
        current = d.consent.get(e.actor.key)
        if current is None or current.choice is not ConsentChoice.BLOCK:
            raise InvalidEvent("an objection from a block follows the member's block")
    else:
        _round_accepts(d, "objection")
    target = p.get("target")
    if target is not None and target not in d.contributions:
        raise InvalidEvent(f"it objects to #{target}, which does not exist")


def _moved(d: Deliberation, e: Event) -> None:
    status = ObjectionStatus(e.payload["status"])
    objection = d.objections.get(e.payload["id"])
    if objection is None:
        raise InvalidEvent(f"#{e.payload['id']} is not an objection")
    if objection.from_block and status is ObjectionStatus.WITHDRAWN:
        # A block's objection is lifted by its author's new consent answer, in the same action.
        if objection.author != e.actor.key or objection.status is not ObjectionStatus.OPEN:
            raise InvalidEvent("a block's objection is lifted only by its author's new answer")
        return
    _redecide(lambda: d.move_objection(e.actor, objection.id, status, e.at), e)


def _proposal(d: Deliberation, e: Event) -> None:
    _moderator(d, e.actor)
    if d.round.kind.value == "consent":
        raise InvalidEvent("the proposal cannot change in the consent round")
    source = ProposalSource(e.payload["source"])
    draft = e.payload.get("draft")
    if source is ProposalSource.HUMAN:
        if draft is not None:
            raise InvalidEvent("a proposal written by hand names no draft")
    else:
        c = d.contributions.get(draft) if isinstance(draft, int) else None
        if c is None or c.kind is not ContributionKind.DRAFT:
            raise InvalidEvent(f"#{draft} is not a draft")
        if source is ProposalSource.ADOPTED and e.payload["text"] != c.text:
            raise InvalidEvent("an adopted draft keeps the draft's text")
    if not isinstance(e.payload["text"], str) or not e.payload["text"].strip():
        raise InvalidEvent("its text is empty")


def _consent(d: Deliberation, e: Event) -> None:
    _member(d, e.actor)
    _round_accepts(d, "consent")
    choice = ConsentChoice(e.payload["choice"])
    if choice is ConsentChoice.BLOCK and not str(e.payload["reason"]).strip():
        raise InvalidEvent("a block without a reason")


def _moderated(d: Deliberation, e: Event) -> None:
    _redecide(lambda: d.moderate(e.actor, e.payload["id"], bool(e.payload["hidden"]), e.at), e)


def _ai_requested(d: Deliberation, e: Event) -> None:
    _redecide(lambda: d.request_ai(e.actor, e.at), e)


def _ai_unavailable(d: Deliberation, e: Event) -> None:
    if e.actor.kind is not ActorKind.AI or e.actor.id not in d.ai_seats:
        raise InvalidEvent(f"no AI participant called {e.actor.id} sits here")


def _cancelled(d: Deliberation, e: Event) -> None:
    _moderator(d, e.actor)


def _sealed(d: Deliberation, e: Event) -> None:
    if d.current != len(d.rounds) - 1 or d.round.status is not RoundStatus.CLOSED:
        raise InvalidEvent("sealed before its last round closed")


_CHECKS: dict[str, Callable[[Deliberation, Event], Any]] = {
    "deliberation.opened": _opened,
    "participant.joined": _joined,
    "participant.role": _role,
    "participant.ai_opt_out": _participant_flag,
    "participant.reminders": _participant_flag,
    "round.opened": _round_opened,
    "round.closed": _round_closed,
    "round.extended": _extended,
    "contribution.added": _contribution_added,
    "contribution.edited": _edited,
    "vote.cast": _vote,
    "objection.raised": _objection,
    "objection.moved": _moved,
    "proposal.set": _proposal,
    "consent.given": _consent,
    "statement.moderated": _moderated,
    "ai.requested": _ai_requested,
    "ai.unavailable": _ai_unavailable,
    "deliberation.cancelled": _cancelled,
    "deliberation.sealed": _sealed,
}
