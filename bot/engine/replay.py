"""Replay a deliberation's stored events through the engine's rules, refusing any that could not have happened.

`Deliberation.apply` never refuses: events were checked when they were decided. An event
written into the file by hand was not, so `verify` checks each one against the state before
it (the same conditions the engine's decide methods require) and only then applies it. Where an
action is one event, the engine is asked to decide it again and must give back that event.
Payloads arrive typed (`bot.engine.events.decode` has refused any that does not fit its kind).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from bot.engine import errors
from bot.engine.deliberation import RESPONDABLE, VOTABLE, Deliberation
from bot.engine.events import (
    AIRequested,
    AIUnavailableNoted,
    BallotCast,
    ConsentGiven,
    ContributionAdded,
    ContributionEdited,
    DeliberationOpened,
    Event,
    EventKind,
    ObjectionMoved,
    ObjectionRaised,
    ParticipantJoined,
    ProposalSet,
    RankingClosed,
    RankingOpened,
    RoleChanged,
    RoundClosed,
    RoundExtended,
    RoundOpened,
    StatementModerated,
    Voted,
)
from bot.engine.model import (
    ACCEPTS,
    Actor,
    ActorKind,
    ConsentChoice,
    ContributionKind,
    DeliberationStatus,
    ObjectionStatus,
    ProposalSource,
    Role,
    RoundStatus,
)
from bot.engine.templates import RoundKind


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
    if (seq == 1) != (e.kind is EventKind.OPENED):
        raise InvalidEvent("a deliberation opens with its first event, and only then")
    if seq > 1 and d.status is not DeliberationStatus.OPEN:
        raise InvalidEvent(f"the deliberation was already {d.status.value}")
    check = _CHECKS.get(e.kind)
    if check is None:
        raise InvalidEvent("not an event kind a deliberation records")
    check(d, e.actor, e.payload, e)


def _redecide(decide: Callable[[], list[Event]], e: Event) -> None:
    """The engine, asked again, must decide exactly this event (after any seating it needs)."""
    try:
        decided = decide()
    except errors.RoundtableError as refusal:
        raise InvalidEvent(f"the engine refuses it: {refusal.user_message}") from None
    if not decided or decided[-1].kind != e.kind or decided[-1].payload != e.payload:
        raise InvalidEvent("the engine decides something else for this action")


def _member(d: Deliberation, actor: Actor, *, voice: bool = True) -> None:
    if actor.kind is not ActorKind.HUMAN:
        raise InvalidEvent("only a member does this")
    p = d.participants.get(actor.key)
    if p is None:
        raise InvalidEvent(f"{actor.key} has not joined")
    if voice and p.role is Role.OBSERVER:
        raise InvalidEvent(f"{actor.key} is an observer")


def _moderator(d: Deliberation, actor: Actor) -> None:
    if actor.kind is not ActorKind.HUMAN or not d.is_moderator(actor.key):
        raise InvalidEvent(f"{actor.key} is not a moderator of this deliberation")


def _round_accepts(d: Deliberation, what: str) -> None:
    if d.round.status is not RoundStatus.OPEN or what not in ACCEPTS[d.round.kind]:
        raise InvalidEvent(f"the {d.round.kind.value} round does not take {what}s")


def _opened(d: Deliberation, actor: Actor, p: DeliberationOpened, e: Event) -> None:
    if actor.kind is not ActorKind.HUMAN or p.moderator != actor.key:
        raise InvalidEvent("a member opens a deliberation and moderates it")
    if not p.question.strip() or not p.rounds:
        raise InvalidEvent("no question or no rounds")


def _joined(d: Deliberation, actor: Actor, p: ParticipantJoined, e: Event) -> None:
    if actor.kind is not ActorKind.HUMAN:
        raise InvalidEvent("AI participants are seated when the deliberation opens")
    if actor.key in d.participants:
        raise InvalidEvent(f"{actor.key} had joined already")
    first = not any(d.humans(include_observers=True))
    if first and (p.role is not Role.MODERATOR or actor.key != d.moderator):
        raise InvalidEvent("the member who opened it joins first, as moderator")
    # Later, a member with the guild's moderator rights may be seated as a moderator to run it.


def _role(d: Deliberation, actor: Actor, p: RoleChanged, e: Event) -> None:
    _member(d, actor, voice=False)
    current = d.participants[actor.key].role
    if p.role is Role.MODERATOR or current is Role.MODERATOR or p.role is current or d.spoke(actor.key):
        raise InvalidEvent("this role change is not allowed")


def _participant_flag(d: Deliberation, actor: Actor, p: Any, e: Event) -> None:
    _member(d, actor, voice=False)


def _round_opened(d: Deliberation, actor: Actor, p: RoundOpened, e: Event) -> None:
    expected = 0 if not any(r.opened_at for r in d.rounds) else d.current + 1
    if p.round != expected or p.round >= len(d.rounds):
        raise InvalidEvent(f"round {p.round} opens out of turn (expected {expected})")
    if p.round > 0 and d.round.status is not RoundStatus.CLOSED:
        raise InvalidEvent("the round before it is still open")


def _round_closed(d: Deliberation, actor: Actor, p: RoundClosed, e: Event) -> None:
    if p.round != d.current or d.round.status is not RoundStatus.OPEN:
        raise InvalidEvent(f"round {p.round} is not the open round")
    if actor.kind is not ActorKind.SYSTEM:
        _moderator(d, actor)


def _extended(d: Deliberation, actor: Actor, p: RoundExtended, e: Event) -> None:
    _moderator(d, actor)
    if p.round != d.current or d.round.status is not RoundStatus.OPEN:
        raise InvalidEvent("only the open round is extended")


def _contribution_added(d: Deliberation, actor: Actor, p: ContributionAdded, e: Event) -> None:
    if p.id != d.next_id:
        raise InvalidEvent(f"id {p.id} is not the next id ({d.next_id})")
    if p.round != d.current:
        raise InvalidEvent(f"it names round {p.round}, not the current one")
    _round_accepts(d, p.kind.value)
    if actor.kind is ActorKind.AI:
        if actor.id not in d.ai_seats:
            raise InvalidEvent(f"no AI participant called {actor.id} sits here")
    else:
        _member(d, actor)
    if p.kind is ContributionKind.POSITION and d.position_of(actor.key) is not None:
        # A second position is an edit of the first (`state_position`), never a new one.
        raise InvalidEvent(f"{actor.key} had stated a position already")
    if not p.text.strip():
        raise InvalidEvent("its text is empty")
    if p.reply_to is not None:
        target = d.contributions.get(p.reply_to)
        if p.kind is ContributionKind.RESPONSE and target is not None and target.kind not in RESPONDABLE:
            raise InvalidEvent(f"it responds to #{p.reply_to}, a {target.kind.value}")
        if target is None and p.reply_to not in d.objections:
            raise InvalidEvent(f"it answers #{p.reply_to}, which does not exist")
    if p.kind is ContributionKind.CRITIQUE or p.revises is not None:
        _lineage(d, actor, p, e)


def _lineage(d: Deliberation, actor: Actor, p: ContributionAdded, e: Event) -> None:
    """A critique is of a draft; a revision is an AI's draft, of a draft critiqued since that AI last revised it."""
    if p.revises is not None and p.kind is not ContributionKind.DRAFT:
        raise InvalidEvent(f"a {p.kind.value} revises nothing")
    if p.kind is ContributionKind.CRITIQUE:
        target = d.contributions.get(p.reply_to) if p.reply_to is not None else None
        if target is None or target.kind is not ContributionKind.DRAFT:
            raise InvalidEvent(f"it critiques #{p.reply_to}, which is not a draft")
    if p.revises is not None:
        revises, meta = p.revises, (dict(p.ai) if p.ai is not None else None)
        _redecide(lambda: d.revise_draft(actor, p.text, revises, e.at, answers=p.answers, meta=meta), e)


def _edited(d: Deliberation, actor: Actor, p: ContributionEdited, e: Event) -> None:
    c = d.contributions.get(p.id)
    if c is None:
        raise InvalidEvent(f"there is no contribution #{p.id}")
    if c.author != actor.key or c.by_ai:
        raise InvalidEvent(f"#{c.id} is not {actor.key}'s to edit")
    _round_accepts(d, c.kind.value)


def _vote(d: Deliberation, actor: Actor, p: Voted, e: Event) -> None:
    _member(d, actor)
    _round_accepts(d, "vote")
    c = d.contributions.get(p.statement)
    if c is None or c.kind not in VOTABLE:
        raise InvalidEvent(f"#{p.statement} is not a position or statement")
    if c.id in d.moderated_out:
        raise InvalidEvent(f"#{c.id} was moderated out")


def _objection(d: Deliberation, actor: Actor, p: ObjectionRaised, e: Event) -> None:
    _member(d, actor)
    if p.id != d.next_id:
        raise InvalidEvent(f"id {p.id} is not the next id ({d.next_id})")
    if p.block:
        current = d.consent.get(actor.key)
        if current is None or current.choice is not ConsentChoice.BLOCK:
            raise InvalidEvent("an objection from a block follows the member's block")
    else:
        _round_accepts(d, "objection")
    if p.target is not None and p.target not in d.contributions:
        raise InvalidEvent(f"it objects to #{p.target}, which does not exist")


def _moved(d: Deliberation, actor: Actor, p: ObjectionMoved, e: Event) -> None:
    objection = d.objections.get(p.id)
    if objection is None:
        raise InvalidEvent(f"#{p.id} is not an objection")
    if objection.from_block and p.status is ObjectionStatus.WITHDRAWN:
        # A block's objection is lifted by its author's new consent answer, in the same action.
        if objection.author != actor.key or objection.status is not ObjectionStatus.OPEN:
            raise InvalidEvent("a block's objection is lifted only by its author's new answer")
        if p.reason:
            raise InvalidEvent("a lifted block's reason is its author's new answer, not a reason of its own")
        return
    if p.status is ObjectionStatus.ADDRESSED and not p.reason:
        # Releases before reasons were asked marked objections addressed without one; such an
        # event keeps the rest of the rule (asked again with a reason, the engine decides the same move).
        def without_reason() -> list[Event]:
            *joining, moved = d.move_objection(actor, objection.id, p.status, e.at, reason="(none recorded)")
            return [*joining, replace(moved, payload=ObjectionMoved(objection.id, p.status))]

        _redecide(without_reason, e)
        return
    _redecide(lambda: d.move_objection(actor, objection.id, p.status, e.at, reason=p.reason), e)


def _proposal(d: Deliberation, actor: Actor, p: ProposalSet, e: Event) -> None:
    _moderator(d, actor)
    if d.round.kind is RoundKind.CONSENT:
        raise InvalidEvent("the proposal cannot change in the consent round")
    if p.source is ProposalSource.HUMAN:
        if p.draft is not None:
            raise InvalidEvent("a proposal written by hand names no draft")
    else:
        c = d.contributions.get(p.draft) if p.draft is not None else None
        if c is None or c.kind is not ContributionKind.DRAFT:
            raise InvalidEvent(f"#{p.draft} is not a draft")
        if p.source is ProposalSource.ADOPTED and p.text != c.text:
            raise InvalidEvent("an adopted draft keeps the draft's text")
    if not p.text.strip():
        raise InvalidEvent("its text is empty")


def _consent(d: Deliberation, actor: Actor, p: ConsentGiven, e: Event) -> None:
    _member(d, actor)
    _round_accepts(d, "consent")
    if p.choice is ConsentChoice.BLOCK and not p.reason.strip():
        raise InvalidEvent("a block without a reason")


def _moderated(d: Deliberation, actor: Actor, p: StatementModerated, e: Event) -> None:
    _redecide(lambda: d.moderate(actor, p.id, p.hidden, e.at), e)


def _ai_requested(d: Deliberation, actor: Actor, p: AIRequested, e: Event) -> None:
    _redecide(lambda: d.request_ai(actor, e.at), e)


def _ai_unavailable(d: Deliberation, actor: Actor, p: AIUnavailableNoted, e: Event) -> None:
    if actor.kind is not ActorKind.AI or actor.id not in d.ai_seats:
        raise InvalidEvent(f"no AI participant called {actor.id} sits here")
    if p.number is not None and p.number != len(d.ai_unavailable):
        raise InvalidEvent(f"note number {p.number} where the next is {len(d.ai_unavailable)}")


def _cancelled(d: Deliberation, actor: Actor, p: Any, e: Event) -> None:
    _moderator(d, actor)


def _sealed(d: Deliberation, actor: Actor, p: Any, e: Event) -> None:
    if d.current != len(d.rounds) - 1 or d.round.status is not RoundStatus.CLOSED:
        raise InvalidEvent("sealed before its last round closed")


def _ranking_opened(d: Deliberation, actor: Actor, p: RankingOpened, e: Event) -> None:
    _redecide(lambda: d.open_ranking(actor, e.at, drafts=p.drafts), e)


def _ballot(d: Deliberation, actor: Actor, p: BallotCast, e: Event) -> None:
    # A member who never joined would be seated by the engine; stored, the seating comes first.
    _member(d, actor)
    _redecide(lambda: d.rank(actor, p.order, e.at, ranking=p.ranking), e)


def _ranking_closed(d: Deliberation, actor: Actor, p: RankingClosed, e: Event) -> None:
    if actor.kind is ActorKind.SYSTEM:
        # The deadline closing the synthesis round closes its ranking with it.
        current = d.open_ranking_now()
        if current is None or current.number != p.ranking:
            raise InvalidEvent(f"ranking #{p.ranking} is not the open ranking")
        return
    _redecide(lambda: d.close_ranking(actor, e.at), e)


_CHECKS: dict[EventKind, Callable[[Deliberation, Actor, Any, Event], None]] = {
    EventKind.OPENED: _opened,
    EventKind.JOINED: _joined,
    EventKind.ROLE_CHANGED: _role,
    EventKind.AI_OPT_OUT: _participant_flag,
    EventKind.REMINDERS: _participant_flag,
    EventKind.ROUND_OPENED: _round_opened,
    EventKind.ROUND_CLOSED: _round_closed,
    EventKind.ROUND_EXTENDED: _extended,
    EventKind.CONTRIBUTION_ADDED: _contribution_added,
    EventKind.CONTRIBUTION_EDITED: _edited,
    EventKind.VOTE_CAST: _vote,
    EventKind.OBJECTION_RAISED: _objection,
    EventKind.OBJECTION_MOVED: _moved,
    EventKind.PROPOSAL_SET: _proposal,
    EventKind.CONSENT_GIVEN: _consent,
    EventKind.STATEMENT_MODERATED: _moderated,
    EventKind.AI_REQUESTED: _ai_requested,
    EventKind.AI_UNAVAILABLE: _ai_unavailable,
    EventKind.CANCELLED: _cancelled,
    EventKind.SEALED: _sealed,
    EventKind.RANKING_OPENED: _ranking_opened,
    EventKind.BALLOT_CAST: _ballot,
    EventKind.RANKING_CLOSED: _ranking_closed,
}

__all__ = ["InvalidEvent", "replay"]
