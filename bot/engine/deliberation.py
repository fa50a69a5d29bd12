"""The deliberation aggregate: rules that decide, and `apply` that changes state.

Every action is two steps. A `decide` method checks the rules against the current state and
returns the events the action would record, changing nothing (a refused action raises a typed
error). `apply` then folds each event into the state. The store writes the events before they
are applied, so what is in memory is never ahead of what is on disk, and replaying the stored
events rebuilds exactly the same deliberation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.engine import errors
from bot.engine.model import (
    ACCEPTS,
    QUESTION_MAX,
    REASON_MAX,
    STANCE_MAX,
    STATEMENT_MAX,
    TEXT_MAX,
    Actor,
    ActorKind,
    AIParticipantSpec,
    ConsentChoice,
    ConsentResponse,
    Contribution,
    ContributionKind,
    DeliberationSettings,
    DeliberationStatus,
    Event,
    Objection,
    ObjectionStatus,
    Participant,
    Proposal,
    ProposalSource,
    Revision,
    Role,
    Round,
    RoundStatus,
    StatusChange,
    Vote,
    VoteCast,
)
from bot.engine.templates import RoundKind

MAX_EXTEND_MINUTES = 60 * 24 * 30
VOTABLE = frozenset({ContributionKind.POSITION, ContributionKind.STATEMENT})
_INPUT_LABELS = {"consent": "consent responses"}


# Bidirectional embeddings, overrides and isolates make text read otherwise than it is stored
# (the AI path drops them too: bot/ai/clean.py uses this table).
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
# Letters and symbols that render as nothing (Hangul fillers, the blank Braille pattern).
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows_something(text: str) -> bool:
    """Whether any character would be seen: not space, not a format character (zero-width
    space, joiners, BOM, direction marks, tags), not a control, not a mark with nothing under it."""
    return any(
        not ch.isspace() and ch not in _BLANK_GLYPHS and unicodedata.category(ch) not in ("Cf", "Cc", "Mn", "Me")
        for ch in text
    )


def clean_text(value: str | None, what: str, limit: int) -> str:
    """Strip `value`, drop direction overrides, and refuse it when it cannot be stored, shows
    nothing, or is over `limit` characters."""
    raw = value or ""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (half an emoji, from a broken client) cannot be stored or sent.
        raise errors.InvalidValue(
            f"The {what} contains a character that cannot be stored (half of an emoji, perhaps). "
            "Remove it and send it again."
        ) from None
    text = raw.translate(BIDI_CONTROLS).strip()
    if not _shows_something(text):
        raise errors.EmptyText(f"The {what} is empty. Write something, then send it again.")
    if len(text) > limit:
        raise errors.TextTooLong(
            f"The {what} is {len(text):,} characters; the limit is {limit:,}. Shorten it and send it again."
        )
    return text


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Deliberation:
    """One deliberation in one guild, rebuilt from its events."""

    def __init__(self, deliberation_id: int, guild_id: int) -> None:
        self.id = deliberation_id
        self.guild_id = guild_id
        self.question = ""
        self.template = ""
        self.settings = DeliberationSettings()
        self.status = DeliberationStatus.OPEN
        self.moderator = ""
        self.created_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.cancel_reason = ""
        self.rounds: list[Round] = []
        self.current = 0
        self.participants: dict[str, Participant] = {}
        self.ai_seats: dict[str, AIParticipantSpec] = {}
        self.contributions: dict[int, Contribution] = {}
        self.objections: dict[int, Objection] = {}
        self.votes: dict[tuple[int, str], VoteCast] = {}
        self.vote_history: list[VoteCast] = []
        self.consent: dict[str, ConsentResponse] = {}
        self.consent_history: list[ConsentResponse] = []
        self.proposal: Proposal | None = None
        self.proposal_history: list[Proposal] = []
        self.moderated_out: set[int] = set()  # statements the moderator took out of the analysis
        self.ai_unavailable: list[tuple[str, str, datetime, int]] = []  # name, reason, when, round
        self.next_id = 1
        self.events_applied = 0

    # ------------------------------------------------------------------ building

    @staticmethod
    def start(
        *,
        question: str,
        template: str,
        rounds: Sequence[RoundKind],
        settings: DeliberationSettings,
        moderator: Actor,
        ai_participants: Sequence[AIParticipantSpec],
        at: datetime,
    ) -> list[Event]:
        """The events that open a deliberation: its terms, its moderator, its first round."""
        if moderator.kind is not ActorKind.HUMAN:
            raise errors.NotForAI("Only a member can open and moderate a deliberation.")
        text = clean_text(question, "question", QUESTION_MAX)
        if not rounds:
            raise errors.InvalidValue("The process template has no rounds.")
        if settings.quorum < 1:
            raise errors.InvalidValue("The quorum must be at least 1.")
        if not 1 <= settings.round_minutes <= MAX_EXTEND_MINUTES:
            raise errors.InvalidValue(f"A round lasts between 1 minute and {MAX_EXTEND_MINUTES // 1440} days.")
        if settings.min_round_minutes > settings.round_minutes:
            raise errors.InvalidValue(
                f"A round of {settings.round_minutes} minutes is shorter than the minimum "
                f"round duration of {settings.min_round_minutes} minutes."
            )
        names = [seat.name for seat in ai_participants]
        if len(set(names)) != len(names):
            raise errors.InvalidValue("Two AI participants share a name; each needs its own label.")
        seats = [
            {"name": s.name, "model": s.model, "endpoint_host": s.endpoint_host, "persona": s.persona}
            for s in (ai_participants if settings.ai_enabled else ())
        ]
        opened = Event(
            "deliberation.opened",
            moderator,
            at,
            {
                "question": text,
                "template": template,
                "rounds": [kind.value for kind in rounds],
                "settings": settings.to_dict(),
                "moderator": moderator.key,
                "ai_participants": seats,
            },
        )
        joined = Event("participant.joined", moderator, at, {"role": Role.MODERATOR.value, "name": moderator.name})
        return [opened, joined, _round_opened(0, at, settings)]

    @classmethod
    def from_events(cls, deliberation_id: int, guild_id: int, events: Iterable[Event]) -> Deliberation:
        deliberation = cls(deliberation_id, guild_id)
        for event in events:
            deliberation.apply(event)
        return deliberation

    # ------------------------------------------------------------------ reading

    @property
    def round(self) -> Round:
        return self.rounds[self.current]

    @property
    def is_open(self) -> bool:
        return self.status is DeliberationStatus.OPEN

    @property
    def decides(self) -> bool:
        """Advice templates gather views; only a consent round makes a decision."""
        return any(r.kind is RoundKind.CONSENT for r in self.rounds)

    def participant(self, key: str) -> Participant | None:
        return self.participants.get(key)

    def humans(self, *, include_observers: bool = False) -> list[Participant]:
        return [
            p for p in self.participants.values() if p.is_human and (include_observers or p.role is not Role.OBSERVER)
        ]

    def display_name(self, key: str, *, reveal: bool = False) -> str:
        """How a participant is shown: an alias in anonymous deliberations, unless revealed."""
        p = self.participants.get(key)
        if p is None:
            return key.partition(":")[2] or key
        if p.kind is ActorKind.AI:
            return p.name
        if self.settings.anonymous and not reveal:
            return p.alias
        return p.name

    def position_of(self, key: str) -> Contribution | None:
        for c in self.contributions.values():
            if c.kind is ContributionKind.POSITION and c.author == key:
                return c
        return None

    def positions(self) -> list[Contribution]:
        return [c for c in self.contributions.values() if c.kind is ContributionKind.POSITION]

    def statements(self) -> list[Contribution]:
        """What members vote on: positions and statements."""
        return [c for c in self.contributions.values() if c.kind in VOTABLE]

    def drafts(self) -> list[Contribution]:
        return [c for c in self.contributions.values() if c.kind is ContributionKind.DRAFT]

    def open_objections(self) -> list[Objection]:
        return [o for o in self.objections.values() if o.status is ObjectionStatus.OPEN]

    def tally(self, statement_id: int) -> dict[Vote, int]:
        counts = dict.fromkeys(Vote, 0)
        for (sid, _), cast in self.votes.items():
            if sid == statement_id:
                counts[cast.vote] += 1
        return counts

    def spoke(self, key: str) -> bool:
        """Did this participant contribute anything: a contribution, objection, vote or consent?"""
        return (
            any(c.author == key for c in self.contributions.values())
            or any(o.author == key for o in self.objections.values())
            or any(member == key for (_, member) in self.votes)
            or key in self.consent
        )

    def silent_humans(self) -> list[Participant]:
        return [p for p in self.humans() if not self.spoke(p.key)]

    def ai_due_at(self) -> datetime | None:
        """When AI participants may state positions without being asked: half the round's time."""
        r = self.round
        if not self.is_open or r.kind is not RoundKind.POSITIONS or r.opened_at is None:
            return None
        assert r.deadline is not None
        return r.opened_at + (r.deadline - r.opened_at) / 2

    def ai_due(self, at: datetime) -> list[str]:
        """AI participants due to state a position now (principle 1: humans first).

        Due once every present human has a position, or at half the round's time, whichever is
        first; never before unless the moderator asked.
        """
        if not self.is_open or self.round.kind is not RoundKind.POSITIONS:
            return []
        # One that failed in this round is not asked again automatically (no hammering).
        failed = {name for name, _, _, index in self.ai_unavailable if index == self.current}
        waiting = [n for n in self.ai_seats if self.position_of(f"ai:{n}") is None and n not in failed]
        if not waiting:
            return []
        if self.round.ai_requested:
            return waiting
        # The moderator facilitates: they may state a position but the AI does not wait for one.
        humans = [p for p in self.humans() if p.role is Role.PARTICIPANT]
        all_spoken = bool(humans) and all(self.position_of(p.key) for p in humans)
        half = self.ai_due_at()
        if all_spoken or (half is not None and at >= half):
            return waiting
        return []

    def prompt_material(self) -> tuple[list[Contribution], int]:
        """Contributions an AI prompt may quote, and how many members were left out (opted out)."""
        opted_out = {p.key for p in self.participants.values() if p.ai_opt_out}
        included = [c for c in self.contributions.values() if c.author not in opted_out]
        return included, len(opted_out)

    # ------------------------------------------------------------------ guards

    def _require_open(self) -> None:
        if self.status is DeliberationStatus.CANCELLED:
            raise errors.DeliberationClosed("This deliberation was cancelled; it takes no more input.")
        if self.status is DeliberationStatus.CLOSED:
            raise errors.DeliberationClosed("This deliberation is closed; its record is sealed.")

    def check_accepts(self, what: str) -> None:
        """Raise the refusal an input of this kind would get now, e.g. before a member starts typing.

        `what` is one of the inputs in `ACCEPTS` ("position", "objection", "statement", "consent", ...).
        """
        self._require_round_accepts(what, _INPUT_LABELS.get(what, f"{what}s"))

    def _require_round_accepts(self, what: str, label: str) -> None:
        self._require_open()
        if what not in ACCEPTS[self.round.kind]:
            rounds = [r.kind.value for r in self.rounds if what in ACCEPTS[r.kind]]
            where = " or ".join(rounds) if rounds else "no round of this process"
            raise errors.WrongRound(
                f"The {self.round.kind.value} round is under way; {label} belong to the {where} round."
            )

    def _human_voice(self, actor: Actor, doing: str, at: datetime) -> list[Event]:
        """Refuse AI and observers; a member acting for the first time joins as a participant."""
        if actor.kind is ActorKind.AI:
            raise errors.NotForAI(f"AI participants cannot {doing}; only members can.")
        if actor.kind is not ActorKind.HUMAN:
            raise errors.PermissionDenied(f"Only members can {doing}.")
        p = self.participants.get(actor.key)
        if p is not None and p.role is Role.OBSERVER:
            raise errors.ObserverCannotAct(f"You are observing this deliberation, so you cannot {doing}.")
        return [] if p is not None else [self._join_event(actor, Role.PARTICIPANT, at)]

    def _any_voice(self, actor: Actor, doing: str, at: datetime) -> list[Event]:
        """Members (not observers) and seated AI participants."""
        if actor.kind is ActorKind.AI:
            if actor.id not in self.ai_seats:
                raise errors.NotFound(f"No AI participant called {actor.id} sits at this deliberation.")
            return []
        return self._human_voice(actor, doing, at)

    def _require_moderator(self, actor: Actor, doing: str) -> None:
        if actor.kind is ActorKind.AI:
            raise errors.NotForAI(f"AI participants cannot {doing}; only the moderator can.")
        p = self.participants.get(actor.key)
        if p is None or p.role is not Role.MODERATOR:
            raise errors.PermissionDenied(f"Only the moderator can {doing}.")

    @staticmethod
    def _join_event(actor: Actor, role: Role, at: datetime) -> Event:
        return Event("participant.joined", actor, at, {"role": role.value, "name": actor.name})

    def _contribution(self, contribution_id: int) -> Contribution:
        c = self.contributions.get(contribution_id)
        if c is None:
            raise errors.NotFound(f"There is no contribution #{contribution_id} in this deliberation.")
        return c

    def _objection(self, objection_id: int) -> Objection:
        o = self.objections.get(objection_id)
        if o is None:
            raise errors.NotFound(f"There is no objection #{objection_id} in this deliberation.")
        return o

    # ------------------------------------------------------------------ deciding

    def join(self, actor: Actor, role: Role, at: datetime, *, ai_opt_out: bool = False) -> list[Event]:
        self._require_open()
        if actor.kind is not ActorKind.HUMAN:
            raise errors.NotForAI("AI participants are seated when the deliberation opens.")
        if role is Role.MODERATOR:
            raise errors.PermissionDenied("A deliberation has one moderator, who opened it.")
        existing = self.participants.get(actor.key)
        if existing is not None:
            if existing.role is role:
                raise errors.AlreadyRecorded(f"You already take part as {role.value}.")
            if existing.role is Role.MODERATOR:
                raise errors.PermissionDenied("The moderator keeps the moderator's role.")
            if self.spoke(actor.key):
                raise errors.PermissionDenied("You have contributed already, so your role stays.")
            return [Event("participant.role", actor, at, {"role": role.value})]
        events = [self._join_event(actor, role, at)]
        if ai_opt_out:
            events.append(Event("participant.ai_opt_out", actor, at, {"opted_out": True}))
        return events

    def set_ai_opt_out(self, actor: Actor, opted_out: bool, at: datetime) -> list[Event]:
        if actor.kind is not ActorKind.HUMAN:
            raise errors.NotForAI("Only members can opt out of AI processing.")
        self._require_open()
        p = self.participants.get(actor.key)
        if p is not None and p.ai_opt_out == opted_out:
            state = "out of" if opted_out else "in to"
            raise errors.AlreadyRecorded(f"You are already opted {state} AI processing here.")
        events = [] if p is not None else [self._join_event(actor, Role.PARTICIPANT, at)]
        return [*events, Event("participant.ai_opt_out", actor, at, {"opted_out": opted_out})]

    def set_reminders(self, actor: Actor, on: bool, at: datetime) -> list[Event]:
        """A member asks to be (or no longer be) mentioned when a round opens.

        Observers may want reminders too, so this never changes a role; a member who has not
        joined yet joins as a participant, as with the AI opt-out.
        """
        if actor.kind is not ActorKind.HUMAN:
            raise errors.NotForAI("Only members get reminders.")
        self._require_open()
        p = self.participants.get(actor.key)
        if p is not None and p.reminders == on:
            raise errors.AlreadyRecorded(f"Your reminders are already {'on' if on else 'off'}.")
        events = [] if p is not None else [self._join_event(actor, Role.PARTICIPANT, at)]
        return [*events, Event("participant.reminders", actor, at, {"on": on})]

    def reminded(self) -> list[Participant]:
        """Members who turned reminders on, in the order they joined."""
        return [p for p in self.participants.values() if p.is_human and p.reminders]

    def state_position(self, actor: Actor, stance: str, reasoning: str, at: datetime) -> list[Event]:
        """A member's position; stating it again edits it (the old text stays in the history)."""
        self._require_round_accepts("position", "positions")
        if actor.kind is ActorKind.AI:
            raise errors.NotForAI("AI participants state positions through the AI path, when due.")
        events = self._human_voice(actor, "state a position", at)
        stance = clean_text(stance, "stance", STANCE_MAX)
        text = clean_text(reasoning, "reasoning", TEXT_MAX)
        existing = self.position_of(actor.key)
        if existing is not None:
            return self.edit_contribution(actor, existing.id, text, at, stance=stance)
        return [*events, self._contribution_event(actor, ContributionKind.POSITION, at, text, stance=stance)]

    def ai_position(
        self,
        actor: Actor,
        stance: str,
        reasoning: str,
        at: datetime,
        *,
        meta: dict[str, Any],
    ) -> list[Event]:
        """An AI participant's labelled position, refused until the engine says it is due."""
        self._require_round_accepts("position", "positions")
        if actor.kind is not ActorKind.AI:
            raise errors.PermissionDenied("Only AI participants speak through the AI path.")
        self._any_voice(actor, "state a position", at)
        if self.position_of(actor.key) is not None:
            raise errors.AlreadyRecorded(f"{actor.id} has already stated a position in this round.")
        if actor.id not in self.ai_due(at):
            raise errors.AINotDue(
                "AI participants speak after every member has stated a position, or at half-time, "
                "unless the moderator asks."
            )
        stance = clean_text(stance, "stance", STANCE_MAX)
        text = clean_text(reasoning, "reasoning", TEXT_MAX)
        return [self._contribution_event(actor, ContributionKind.POSITION, at, text, stance=stance, meta=meta)]

    def state_statement(self, actor: Actor, text: str, at: datetime) -> list[Event]:
        """A short statement for everyone to vote agree / disagree / pass on (Polis-style)."""
        self._require_round_accepts("statement", "statements")
        events = self._human_voice(actor, "add a statement", at)
        body = clean_text(text, "statement", STATEMENT_MAX)
        for c in self.contributions.values():
            if c.kind is ContributionKind.STATEMENT and c.text == body:
                raise errors.AlreadyRecorded(f"This statement is already here (#{c.id}).")
        return [*events, self._contribution_event(actor, ContributionKind.STATEMENT, at, body)]

    def moderate(self, actor: Actor, statement_id: int, hidden: bool, at: datetime) -> list[Event]:
        """The moderator takes a statement out of the vote analysis (spam, duplicates, abuse), or back in.

        Its text and votes stay in the record; it no longer takes votes or counts in opinion groups.
        """
        self._require_moderator(actor, "moderate a statement")
        self._require_open()
        statement = self._contribution(statement_id)
        if statement.kind not in VOTABLE:
            raise errors.InvalidValue("Only positions and statements are moderated.")
        if (statement_id in self.moderated_out) == hidden:
            raise errors.AlreadyRecorded(f"#{statement_id} is already {'out' if hidden else 'in'}.")
        return [Event("statement.moderated", actor, at, {"id": statement_id, "hidden": hidden})]

    def respond(self, actor: Actor, text: str, reply_to: int, at: datetime) -> list[Event]:
        self._require_round_accepts("response", "responses")
        events = self._human_voice(actor, "respond", at)
        if reply_to not in self.contributions and reply_to not in self.objections:
            raise errors.NotFound(f"There is no contribution or objection #{reply_to} to respond to.")
        body = clean_text(text, "response", TEXT_MAX)
        return [*events, self._contribution_event(actor, ContributionKind.RESPONSE, at, body, reply_to=reply_to)]

    def draft(
        self,
        actor: Actor,
        text: str,
        at: datetime,
        *,
        answers: Sequence[int] = (),
        meta: dict[str, Any] | None = None,
    ) -> list[Event]:
        """A candidate proposal: a proposal only, until the moderator adopts it."""
        self._require_round_accepts("draft", "drafts")
        events = self._any_voice(actor, "draft a proposal", at)
        body = clean_text(text, "draft", TEXT_MAX)
        known = tuple(sorted({i for i in answers if i in self.contributions or i in self.objections}))
        return [
            *events,
            self._contribution_event(actor, ContributionKind.DRAFT, at, body, answers=known, meta=meta),
        ]

    def critique(
        self, actor: Actor, text: str, target: int, at: datetime, *, meta: dict[str, Any] | None = None
    ) -> list[Event]:
        self._require_round_accepts("critique", "critiques")
        events = self._any_voice(actor, "critique", at)
        if target not in self.contributions:
            raise errors.NotFound(f"There is no draft #{target} to critique.")
        body = clean_text(text, "critique", TEXT_MAX)
        return [
            *events,
            self._contribution_event(actor, ContributionKind.CRITIQUE, at, body, reply_to=target, meta=meta),
        ]

    def edit_contribution(
        self, actor: Actor, contribution_id: int, text: str, at: datetime, *, stance: str | None = None
    ) -> list[Event]:
        """Authors edit their own words while the round for them is open; history is kept."""
        c = self._contribution(contribution_id)
        if c.author != actor.key:
            raise errors.NotYourContribution("You can only edit what you wrote.")
        if c.by_ai:
            raise errors.NotForAI("AI contributions are never edited; ask for a new one.")
        self._require_round_accepts(c.kind.value, f"{c.kind.value}s")
        body = clean_text(text, c.kind.value, TEXT_MAX)
        new_stance = clean_text(stance, "stance", STANCE_MAX) if stance is not None else c.stance
        if body == c.text and new_stance == c.stance:
            raise errors.AlreadyRecorded("Nothing changed: the text is the same as before.")
        return [Event("contribution.edited", actor, at, {"id": c.id, "stance": new_stance, "text": body})]

    def vote(self, actor: Actor, statement_id: int, choice: Vote, at: datetime) -> list[Event]:
        self._require_round_accepts("vote", "votes")
        events = self._human_voice(actor, "vote", at)
        statement = self._contribution(statement_id)
        if statement.kind not in VOTABLE:
            raise errors.InvalidValue("Votes are on positions and statements.")
        if statement_id in self.moderated_out:
            raise errors.InvalidValue(f"#{statement_id} was moderated out; it takes no more votes.")
        current = self.votes.get((statement_id, actor.key))
        if current is not None and current.vote is choice:
            raise errors.AlreadyRecorded(f"Your vote on #{statement_id} is already {choice.value}.")
        return [*events, Event("vote.cast", actor, at, {"statement": statement_id, "vote": choice.value})]

    def object(self, actor: Actor, what: str, why: str, at: datetime, *, target: int | None = None) -> list[Event]:
        self._require_round_accepts("objection", "objections")
        events = self._human_voice(actor, "raise an objection", at)
        body_what = clean_text(what, "objection", TEXT_MAX)
        body_why = clean_text(why, "reason", TEXT_MAX)
        if target is not None and target not in self.contributions:
            raise errors.NotFound(f"There is no contribution #{target} to object to.")
        for o in self.objections.values():
            if o.author == actor.key and o.what == body_what and o.why == body_why and o.status is ObjectionStatus.OPEN:
                raise errors.AlreadyRecorded(f"You raised this objection already (#{o.id}).")
        payload = {"id": self.next_id, "what": body_what, "why": body_why, "target": target, "block": False}
        return [*events, Event("objection.raised", actor, at, payload)]

    def move_objection(self, actor: Actor, objection_id: int, status: ObjectionStatus, at: datetime) -> list[Event]:
        """The author withdraws or reopens; the moderator marks addressed. Standing is set at sealing."""
        self._require_open()
        if actor.kind is ActorKind.AI:
            raise errors.NotForAI("AI participants cannot change an objection.")
        o = self._objection(objection_id)
        is_author = o.author == actor.key
        p = self.participants.get(actor.key)
        is_moderator = p is not None and p.role is Role.MODERATOR
        if status is o.status:
            raise errors.AlreadyRecorded(f"Objection #{o.id} is already {status.value}.")
        if status is ObjectionStatus.WITHDRAWN:
            if not is_author:
                raise errors.NotYourContribution("Only the member who raised an objection can withdraw it.")
            if o.status not in (ObjectionStatus.OPEN, ObjectionStatus.ADDRESSED):
                raise errors.InvalidTransition(f"Objection #{o.id} is {o.status.value}; it cannot be withdrawn.")
            if o.from_block:
                raise errors.InvalidTransition(
                    "This objection comes from your block; change your consent response to lift it."
                )
        elif status is ObjectionStatus.ADDRESSED:
            if not is_moderator:
                raise errors.PermissionDenied("Only the moderator can mark an objection addressed.")
            if o.status is not ObjectionStatus.OPEN:
                raise errors.InvalidTransition(f"Objection #{o.id} is {o.status.value}, not open.")
        elif status is ObjectionStatus.OPEN:
            if not is_author:
                raise errors.NotYourContribution("Only the member who raised an objection can reopen it.")
            if o.status is not ObjectionStatus.ADDRESSED:
                raise errors.InvalidTransition(f"Objection #{o.id} is {o.status.value}; only addressed ones reopen.")
        else:
            raise errors.InvalidTransition("Objections become standing when the record is sealed.")
        return [Event("objection.moved", actor, at, {"id": o.id, "status": status.value})]

    def propose(self, actor: Actor, text: str, at: datetime) -> list[Event]:
        """The moderator puts a proposal written by hand."""
        self._require_moderator(actor, "put a proposal to the group")
        self._require_proposal_round()
        body = clean_text(text, "proposal", TEXT_MAX)
        if self.proposal is not None and self.proposal.text == body:
            raise errors.AlreadyRecorded("This proposal is already the one before the group.")
        return [Event("proposal.set", actor, at, {"text": body, "source": ProposalSource.HUMAN.value, "draft": None})]

    def adopt(self, actor: Actor, draft_id: int, at: datetime, *, amended_text: str | None = None) -> list[Event]:
        """The moderator adopts a draft as is, or amended; the record says which and by whom."""
        self._require_moderator(actor, "adopt a draft")
        self._require_proposal_round()
        draft = self._contribution(draft_id)
        if draft.kind is not ContributionKind.DRAFT:
            raise errors.InvalidValue(f"#{draft_id} is a {draft.kind.value}, not a draft.")
        if amended_text is None or amended_text.strip() == draft.text:
            text, source = draft.text, ProposalSource.ADOPTED
        else:
            text, source = clean_text(amended_text, "proposal", TEXT_MAX), ProposalSource.AMENDED
        current = self.proposal
        if current is not None and current.draft_id == draft_id and current.text == text:
            raise errors.AlreadyRecorded(f"Draft #{draft_id} is already the proposal before the group.")
        return [Event("proposal.set", actor, at, {"text": text, "source": source.value, "draft": draft_id})]

    def _require_proposal_round(self) -> None:
        self._require_open()
        if self.round.kind is RoundKind.CONSENT:
            raise errors.WrongRound("The consent round is under way; the proposal can no longer change.")

    def give_consent(self, actor: Actor, choice: ConsentChoice, at: datetime, *, reason: str = "") -> list[Event]:
        """A member's answer on the consent scale. A block needs a reason and opens an objection."""
        self._require_round_accepts("consent", "consent responses")
        events = self._human_voice(actor, "answer the consent check", at)
        why = clean_text(reason, "reason", TEXT_MAX) if (reason or "").strip() else ""
        if choice is ConsentChoice.BLOCK and not why:
            raise errors.BlockNeedsReason("A block needs a reason: say what would have to change.")
        current = self.consent.get(actor.key)
        if current is not None and current.choice is choice and current.reason == why:
            raise errors.AlreadyRecorded(f"Your answer is already recorded as {choice.value.replace('_', ' ')}.")
        events.append(Event("consent.given", actor, at, {"choice": choice.value, "reason": why}))
        if current is not None and current.choice is ConsentChoice.BLOCK:
            for o in self.objections.values():
                if o.author == actor.key and o.from_block and o.status is ObjectionStatus.OPEN:
                    events.append(Event("objection.moved", actor, at, {"id": o.id, "status": "withdrawn"}))
        if choice is ConsentChoice.BLOCK:
            events.append(
                Event(
                    "objection.raised",
                    actor,
                    at,
                    {"id": self.next_id, "what": "Block", "why": why, "target": None, "block": True},
                )
            )
        return events

    def request_ai(self, actor: Actor, at: datetime) -> list[Event]:
        """The moderator asks the AI participants to speak now, before they are due."""
        self._require_moderator(actor, "ask the AI participants to speak")
        self._require_open()
        if not self.ai_seats:
            raise errors.InvalidValue("No AI participant sits at this deliberation.")
        if self.round.ai_requested:
            raise errors.AlreadyRecorded("The AI participants were already asked to speak in this round.")
        return [Event("ai.requested", actor, at, {"round": self.current})]

    def note_ai_unavailable(self, name: str, reason: str, at: datetime) -> list[Event]:
        """An AI participant failed; the deliberation goes on and the record says so."""
        self._require_open()
        if name not in self.ai_seats:
            raise errors.NotFound(f"No AI participant called {name} sits at this deliberation.")
        return [Event("ai.unavailable", Actor.ai(name), at, {"reason": reason[:REASON_MAX]})]

    def extend(self, actor: Actor, minutes: int, at: datetime) -> list[Event]:
        self._require_moderator(actor, "extend a round")
        self._require_open()
        if not 1 <= minutes <= MAX_EXTEND_MINUTES:
            raise errors.InvalidValue(f"Extend by 1 minute to {MAX_EXTEND_MINUTES // 1440} days.")
        assert self.round.deadline is not None
        base = max(self.round.deadline, at)
        deadline = base + timedelta(minutes=minutes)
        return [Event("round.extended", actor, at, {"round": self.current, "deadline": deadline.isoformat()})]

    def cancel(self, actor: Actor, reason: str, at: datetime) -> list[Event]:
        self._require_moderator(actor, "cancel the deliberation")
        self._require_open()
        why = clean_text(reason, "reason", REASON_MAX)
        return [Event("deliberation.cancelled", actor, at, {"reason": why})]

    def advance(self, actor: Actor, at: datetime, *, force: bool = False) -> list[Event]:
        """Close the current round and open the next, or seal the record after the last.

        The moderator may close a round early only by forcing it, which the record shows. The
        system closes a round only once its deadline has passed.
        """
        self._require_open()
        r = self.round
        assert r.min_close_at is not None
        assert r.deadline is not None
        if actor.kind is ActorKind.SYSTEM:
            if at < r.deadline:
                raise errors.RoundTooYoung("The round's deadline has not passed yet.")
            forced = False
        else:
            self._require_moderator(actor, "close a round")
            if at < r.min_close_at and not force:
                left = r.min_close_at - at
                minutes = max(1, int(left.total_seconds() // 60))
                raise errors.RoundTooYoung(
                    f"The {r.kind.value} round has a minimum duration; {minutes} more minute(s) to go. "
                    "Force it to close now (the record will say it was forced)."
                )
            forced = at < r.min_close_at
        events = [Event("round.closed", actor, at, {"round": self.current, "forced": forced})]
        if self.current + 1 < len(self.rounds):
            events.append(_round_opened(self.current + 1, at, self.settings))
        else:
            events.append(Event("deliberation.sealed", actor, at, {}))
        return events

    def _contribution_event(
        self,
        actor: Actor,
        kind: ContributionKind,
        at: datetime,
        text: str,
        *,
        stance: str | None = None,
        reply_to: int | None = None,
        answers: tuple[int, ...] = (),
        meta: dict[str, Any] | None = None,
    ) -> Event:
        payload: dict[str, Any] = {"id": self.next_id, "kind": kind.value, "text": text, "round": self.current}
        if stance is not None:
            payload["stance"] = stance
        if reply_to is not None:
            payload["reply_to"] = reply_to
        if answers:
            payload["answers"] = list(answers)
        if meta:
            payload["ai"] = meta
        return Event("contribution.added", actor, at, payload)

    # ------------------------------------------------------------------ applying

    def apply(self, event: Event) -> None:
        """Fold one event into the state. Never refuses: events were checked when decided."""
        handler = _APPLY.get(event.kind)
        if handler is None:
            raise ValueError(f"unknown event kind {event.kind!r}")
        handler(self, event)
        self.events_applied += 1

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def _apply_opened(self, e: Event) -> None:
        p = e.payload
        self.question = p["question"]
        self.template = p["template"]
        self.settings = DeliberationSettings(**p["settings"])
        self.moderator = p["moderator"]
        self.created_at = e.at
        self.rounds = [Round(i, RoundKind(kind)) for i, kind in enumerate(p["rounds"])]
        for seat in p["ai_participants"]:
            spec = AIParticipantSpec(
                seat["name"], seat["model"], seat.get("endpoint_host", ""), seat.get("persona", "")
            )
            self.ai_seats[spec.name] = spec
            self.participants[f"ai:{spec.name}"] = Participant(
                f"ai:{spec.name}",
                ActorKind.AI,
                spec.name,
                Role.PARTICIPANT,
                e.at,
                model=spec.model,
                endpoint_host=spec.endpoint_host,
            )

    def _apply_joined(self, e: Event) -> None:
        role = Role(e.payload["role"])
        # The moderator acts in the open; everyone else is numbered in the order they joined.
        n = sum(1 for p in self.participants.values() if p.is_human and p.role is not Role.MODERATOR)
        alias = "Moderator" if role is Role.MODERATOR else f"Participant {n + 1}"
        self.participants[e.actor.key] = Participant(
            e.actor.key, e.actor.kind, e.payload.get("name") or e.actor.name, role, e.at, alias=alias
        )

    def _apply_role(self, e: Event) -> None:
        self.participants[e.actor.key].role = Role(e.payload["role"])

    def _apply_opt_out(self, e: Event) -> None:
        self.participants[e.actor.key].ai_opt_out = bool(e.payload["opted_out"])

    def _apply_reminders(self, e: Event) -> None:
        self.participants[e.actor.key].reminders = bool(e.payload["on"])

    def _apply_round_opened(self, e: Event) -> None:
        r = self.rounds[e.payload["round"]]
        r.status = RoundStatus.OPEN
        r.opened_at = e.at
        r.deadline = _dt(e.payload["deadline"])
        r.min_close_at = _dt(e.payload["min_close_at"])
        self.current = r.index

    def _apply_round_closed(self, e: Event) -> None:
        r = self.rounds[e.payload["round"]]
        r.status = RoundStatus.CLOSED
        r.closed_at = e.at
        r.forced = bool(e.payload["forced"])
        r.closed_by = e.actor.key

    def _apply_extended(self, e: Event) -> None:
        self.rounds[e.payload["round"]].deadline = _dt(e.payload["deadline"])

    def _apply_contribution(self, e: Event) -> None:
        p = e.payload
        self.contributions[p["id"]] = Contribution(
            id=p["id"],
            kind=ContributionKind(p["kind"]),
            author=e.actor.key,
            round_index=p["round"],
            at=e.at,
            stance=p.get("stance"),
            text=p["text"],
            reply_to=p.get("reply_to"),
            answers=tuple(p.get("answers", ())),
            ai_meta=p.get("ai"),
        )
        self.next_id = p["id"] + 1

    def _apply_edited(self, e: Event) -> None:
        c = self.contributions[e.payload["id"]]
        c.history.append(Revision(c.stance, c.text, c.updated_at or c.at))
        c.updated_at = e.at
        c.stance = e.payload.get("stance")
        c.text = e.payload["text"]

    def _apply_vote(self, e: Event) -> None:
        cast = VoteCast(e.payload["statement"], e.actor.key, Vote(e.payload["vote"]), e.at)
        self.votes[(cast.statement_id, cast.member)] = cast
        self.vote_history.append(cast)

    def _apply_objection(self, e: Event) -> None:
        p = e.payload
        self.objections[p["id"]] = Objection(
            id=p["id"],
            author=e.actor.key,
            round_index=self.current,
            at=e.at,
            what=p["what"],
            why=p["why"],
            from_block=bool(p.get("block")),
            target=p.get("target"),
            history=[StatusChange(ObjectionStatus.OPEN, e.actor.key, e.at)],
        )
        self.next_id = p["id"] + 1

    def _apply_moved(self, e: Event) -> None:
        o = self.objections[e.payload["id"]]
        o.status = ObjectionStatus(e.payload["status"])
        o.history.append(StatusChange(o.status, e.actor.key, e.at))

    def _apply_proposal(self, e: Event) -> None:
        p = e.payload
        self.proposal = Proposal(p["text"], ProposalSource(p["source"]), e.actor.key, e.at, p.get("draft"))
        self.proposal_history.append(self.proposal)

    def _apply_consent(self, e: Event) -> None:
        response = ConsentResponse(e.actor.key, ConsentChoice(e.payload["choice"]), e.payload["reason"], e.at)
        self.consent[e.actor.key] = response
        self.consent_history.append(response)

    def _apply_moderated(self, e: Event) -> None:
        if e.payload["hidden"]:
            self.moderated_out.add(e.payload["id"])
        else:
            self.moderated_out.discard(e.payload["id"])

    def _apply_ai_requested(self, e: Event) -> None:
        self.rounds[e.payload["round"]].ai_requested = True

    def _apply_ai_unavailable(self, e: Event) -> None:
        self.ai_unavailable.append((e.actor.id, e.payload["reason"], e.at, self.current))

    def _apply_cancelled(self, e: Event) -> None:
        self.status = DeliberationStatus.CANCELLED
        self.cancel_reason = e.payload["reason"]
        self.closed_at = e.at

    def _apply_sealed(self, e: Event) -> None:
        # Whatever is still open when the record is sealed stands (principle 2).
        for o in self.objections.values():
            if o.status is ObjectionStatus.OPEN:
                o.status = ObjectionStatus.STANDING
                o.history.append(StatusChange(ObjectionStatus.STANDING, e.actor.key, e.at))
        if self.proposal is None:
            self.proposal = Proposal(self.question, ProposalSource.MOTION, self.moderator, e.at)
        self.status = DeliberationStatus.CLOSED
        self.closed_at = e.at


def _round_opened(index: int, at: datetime, settings: DeliberationSettings) -> Event:
    return Event(
        "round.opened",
        Actor.system("process"),
        at,
        {
            "round": index,
            "deadline": (at + timedelta(minutes=settings.round_minutes)).isoformat(),
            "min_close_at": (at + timedelta(minutes=settings.min_round_minutes)).isoformat(),
        },
    )


_APPLY = {
    "deliberation.opened": Deliberation._apply_opened,
    "participant.joined": Deliberation._apply_joined,
    "participant.role": Deliberation._apply_role,
    "participant.ai_opt_out": Deliberation._apply_opt_out,
    "participant.reminders": Deliberation._apply_reminders,
    "round.opened": Deliberation._apply_round_opened,
    "round.closed": Deliberation._apply_round_closed,
    "round.extended": Deliberation._apply_extended,
    "contribution.added": Deliberation._apply_contribution,
    "contribution.edited": Deliberation._apply_edited,
    "vote.cast": Deliberation._apply_vote,
    "objection.raised": Deliberation._apply_objection,
    "objection.moved": Deliberation._apply_moved,
    "proposal.set": Deliberation._apply_proposal,
    "consent.given": Deliberation._apply_consent,
    "statement.moderated": Deliberation._apply_moderated,
    "ai.requested": Deliberation._apply_ai_requested,
    "ai.unavailable": Deliberation._apply_ai_unavailable,
    "deliberation.cancelled": Deliberation._apply_cancelled,
    "deliberation.sealed": Deliberation._apply_sealed,
}

EVENT_KINDS = frozenset(_APPLY)

__all__ = ["BIDI_CONTROLS", "EVENT_KINDS", "Deliberation", "clean_text"]
