"""The deliberation aggregate: rules that decide, and `apply` that changes state.

Every action is two steps. A `decide` method checks the rules against the current state and
returns the events the action would record, changing nothing (a refused action raises a typed
error). `apply` then folds each event into the state. The store writes the events before they
are applied, so what is in memory is never ahead of what is on disk, and replaying the stored
events rebuilds exactly the same deliberation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.engine import errors
from bot.engine.events import (
    AIOptOutSet,
    AIRequested,
    AIUnavailableNoted,
    BallotCast,
    ConsentGiven,
    ContributionAdded,
    ContributionEdited,
    DeliberationCancelled,
    DeliberationOpened,
    DeliberationSealed,
    Event,
    EventKind,
    ObjectionMoved,
    ObjectionRaised,
    ParticipantJoined,
    ProposalSet,
    RankingClosed,
    RankingOpened,
    RemindersSet,
    RoleChanged,
    RoundClosed,
    RoundExtended,
    RoundOpened,
    StatementModerated,
    Voted,
)
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
    AITask,
    ConsentChoice,
    ConsentResponse,
    Contribution,
    ContributionKind,
    DeliberationSettings,
    DeliberationStatus,
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
    ai_label,
)
from bot.engine.ranking import MAX_RANKED_DRAFTS, Ranking, drafts_list
from bot.engine.templates import RoundKind

MAX_EXTEND_MINUTES = 60 * 24 * 30
VOTABLE = frozenset({ContributionKind.POSITION, ContributionKind.STATEMENT})
RESPONDABLE = VOTABLE | {ContributionKind.RESPONSE}
_INPUT_LABELS = {"consent": "consent responses"}


@dataclass(frozen=True)
class AIAsk:
    """What asking the AI participants now means: which task, of whom, on what; and the events
    that record the asking (the moderator's request, once per round)."""

    task: AITask
    names: tuple[str, ...]
    events: list[Event]
    target: int | None = None


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
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in raw):
        # NUL and the other control characters show nothing and break what reads the text.
        raise errors.InvalidValue(
            f"The {what} contains a control character (such as NUL) that cannot be shown. Remove it and send it again."
        )
    text = raw.translate(BIDI_CONTROLS).strip()
    if not _shows_something(text):
        raise errors.EmptyText(f"The {what} is empty. Write something, then send it again.")
    if len(text) > limit:
        raise errors.TextTooLong(
            f"The {what} is {len(text):,} characters; the limit is {limit:,}. Shorten it and send it again."
        )
    return text


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
        self.invited: tuple[str, ...] = ()  # whom it waits for; empty when open to all (then its quorum)
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
        self.rankings: list[Ranking] = []  # rankings of drafts, in the order they opened
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
        invited: Sequence[Actor] = (),
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
        opened = Event(
            moderator,
            at,
            DeliberationOpened(
                question=text,
                template=template,
                rounds=tuple(rounds),
                settings=settings,
                moderator=moderator.key,
                ai_participants=tuple(ai_participants) if settings.ai_enabled else (),
                invited=tuple(dict.fromkeys(a.key for a in invited if a.kind is ActorKind.HUMAN and a != moderator)),
            ),
        )
        joined = Event(moderator, at, ParticipantJoined(Role.MODERATOR, moderator.name))
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

    def reveals_to(self, key: str) -> bool:
        """May this participant see who is behind the aliases? Only the moderator, only if the
        deliberation's settings say so."""
        p = self.participants.get(key)
        return (
            self.settings.anonymous
            and self.settings.reveal_aliases_to_moderator
            and p is not None
            and p.role is Role.MODERATOR
        )

    def shown_as(self, key: str, *, reveal: bool = False) -> str:
        """Who wrote something, as shown to members: an AI's label, an alias, or a name."""
        p = self.participants.get(key)
        if p is not None and p.kind is ActorKind.AI:
            return ai_label(p.name, p.model or "unknown model")
        return self.display_name(key, reveal=reveal)

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
            or any(key in r.ballots for r in self.rankings)
        )

    def round_participation(self, index: int) -> tuple[list[Participant], list[Participant]]:
        """Members who took part in a round, and participants who did not (the moderator facilitates).

        Taking part: a contribution or objection made in it, a vote or consent answer given while
        it was open, or a ballot in one of its rankings of drafts.
        """
        r = self.rounds[index]
        start, end = r.opened_at, r.closed_at
        acted: set[str] = {c.author for c in self.contributions.values() if c.round_index == index}
        acted |= {o.author for o in self.objections.values() if o.round_index == index}
        acted |= {key for k in self.rankings if k.round_index == index for key in k.ballots}
        if start is not None:

            def within(at: datetime) -> bool:
                return at >= start and (end is None or at <= end)

            acted |= {v.member for v in self.vote_history if within(v.at)}
            acted |= {c.member for c in self.consent_history if within(c.at)}
        humans = self.humans()
        took = [p for p in humans if p.key in acted]
        silent = [p for p in humans if p.key not in acted and p.role is Role.PARTICIPANT]
        return took, silent

    def silent_humans(self) -> list[Participant]:
        return [p for p in self.humans() if not self.spoke(p.key)]

    def ai_due_at(self) -> datetime | None:
        """When AI participants may state positions without being asked: half the round's time."""
        r = self.round
        if not self.is_open or r.kind is not RoundKind.POSITIONS or r.opened_at is None:
            return None
        assert r.deadline is not None
        return r.opened_at + (r.deadline - r.opened_at) / 2

    def expected(self) -> tuple[list[str], int]:
        """Whom the positions round waits for: (members named, how many must have stated a position).

        Invited members and everyone who joined as a participant, and at least its quorum of
        members however many were invited or turned observer. The moderator facilitates and is not waited for;
        observers are not expected to speak.
        """
        observers = {p.key for p in self.participants.values() if p.role is Role.OBSERVER}
        joined = [p.key for p in self.humans() if p.role is Role.PARTICIPANT]
        named = list(dict.fromkeys([*(k for k in self.invited if k not in observers), *joined]))
        # The quorum is a floor either way: invited members who only observe never bring it to zero.
        return named, max(self.settings.quorum, len(named))

    def members_awaited(self) -> tuple[list[str], int]:
        """Before the AI may speak: the expected members still without a position, and how many
        more positions are needed in all (unnamed members of an open deliberation count too)."""
        named, needed = self.expected()
        stated = [k for k in named if self.position_of(k) is not None]
        return [k for k in named if self.position_of(k) is None], max(needed - len(stated), 0)

    def ai_due(self, at: datetime) -> list[str]:
        """AI participants due to state a position now (principle 1: humans first).

        Due once every expected member has stated a position, or at half the round's time,
        whichever is first; earlier only if the moderator asked.
        """
        # One that failed in this round is not asked again automatically (no hammering).
        failed = {name for name, _, _, index in self.ai_unavailable if index == self.current}
        waiting = [n for n in self.ai_without_position() if n not in failed]
        if not waiting:
            return []
        if self.round.ai_requested:
            return waiting
        _, more = self.members_awaited()
        half = self.ai_due_at()
        if more == 0 or (half is not None and at >= half):
            return waiting
        return []

    def ai_without_position(self) -> list[str]:
        """In an open positions round, the AI seats that have not stated a position yet."""
        if not self.is_open or self.round.kind is not RoundKind.POSITIONS:
            return []
        return [n for n in self.ai_seats if self.position_of(f"ai:{n}") is None]

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
            if not rounds:
                hint = (
                    " A block at the consent check, with its reason, is this process's objection."
                    if (what == "objection" and any(r.kind is RoundKind.CONSENT for r in self.rounds))
                    else ""
                )
                raise errors.WrongRound(f"The {self.template} process takes no {label}.{hint}")
            raise errors.WrongRound(
                f"The {self.round.kind.value} round is under way; {label} belong to the {' or '.join(rounds)} round."
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
        """A moderator of this deliberation, or a member with the guild's moderator rights who does
        not take part in it otherwise (no one both argues and runs it)."""
        if actor.kind is ActorKind.AI:
            raise errors.NotForAI(f"AI participants cannot {doing}; only the moderator can.")
        if self.is_moderator(actor.key):
            return
        if not (actor.kind is ActorKind.HUMAN and actor.moderates):
            raise errors.PermissionDenied(f"Only the moderator can {doing}.")
        p = self.participants.get(actor.key)
        if p is not None:
            raise errors.PermissionDenied(
                f"You take part in this deliberation as {p.role.value}, so you cannot also {doing}."
            )

    def _moderating(self, actor: Actor, doing: str, at: datetime) -> list[Event]:
        """`_require_moderator`, and the event that seats a member with the guild's moderator rights
        as one of this deliberation's moderators the first time they run it (the record names them)."""
        self._require_moderator(actor, doing)
        return [] if self.is_moderator(actor.key) else [self._join_event(actor, Role.MODERATOR, at)]

    def is_moderator(self, key: str) -> bool:
        """Did this participant open (and so moderate) the deliberation?"""
        p = self.participants.get(key)
        return p is not None and p.role is Role.MODERATOR

    @staticmethod
    def _join_event(actor: Actor, role: Role, at: datetime) -> Event:
        return Event(actor, at, ParticipantJoined(role, actor.name))

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
            return [Event(actor, at, RoleChanged(role))]
        events = [self._join_event(actor, role, at)]
        if ai_opt_out:
            events.append(Event(actor, at, AIOptOutSet(opted_out=True)))
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
        return [*events, Event(actor, at, AIOptOutSet(opted_out))]

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
        return [*events, Event(actor, at, RemindersSet(on))]

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
        events = self._moderating(actor, "moderate a statement", at)
        self._require_open()
        statement = self._contribution(statement_id)
        if statement.kind not in VOTABLE:
            raise errors.InvalidValue("Only positions and statements are moderated.")
        if (statement_id in self.moderated_out) == hidden:
            raise errors.AlreadyRecorded(f"#{statement_id} is already {'out' if hidden else 'in'}.")
        return [*events, Event(actor, at, StatementModerated(statement_id, hidden))]

    def check_respond(self, actor: Actor, reply_to: int) -> None:
        """Refuse a response before its form opens: the round, the member, what it answers."""
        self._require_round_accepts("response", "responses")
        if actor.kind is not ActorKind.HUMAN:
            raise errors.NotForAI("Only members respond; AI participants critique drafts.")
        p = self.participants.get(actor.key)
        if p is not None and p.role is Role.OBSERVER:
            raise errors.ObserverCannotAct("You are observing this deliberation, so you cannot respond.")
        target = self.contributions.get(reply_to)
        if target is None and reply_to not in self.objections:
            raise errors.NotFound(f"There is no position, statement or objection #{reply_to} here to respond to.")
        if target is not None and target.kind not in RESPONDABLE:
            raise errors.InvalidValue(
                f"#{reply_to} is a {target.kind.value}; responses answer positions, statements, objections and "
                "other responses (drafts take critiques)."
            )

    def respond(self, actor: Actor, text: str, reply_to: int, at: datetime) -> list[Event]:
        self.check_respond(actor, reply_to)
        events = self._human_voice(actor, "respond", at)
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
        """A critique of a draft, by a member or an AI participant; posted under the draft."""
        self.check_critique(actor, target)
        events = self._any_voice(actor, "critique drafts", at)
        body = clean_text(text, "critique", TEXT_MAX)
        for c in self.critiques_of(target):
            if c.author == actor.key and c.text == body:
                raise errors.AlreadyRecorded(f"You critiqued draft #{target} in these words already (#{c.id}).")
        return [
            *events,
            self._contribution_event(actor, ContributionKind.CRITIQUE, at, body, reply_to=target, meta=meta),
        ]

    # ------------------------------------------------------------------ critiques and revisions

    def critiques_of(self, draft_id: int, *, members_only: bool = False) -> list[Contribution]:
        """The critiques of a draft, oldest first (members' only, if asked)."""
        return [
            c
            for c in self.contributions.values()
            if c.kind is ContributionKind.CRITIQUE and c.reply_to == draft_id and not (members_only and c.by_ai)
        ]

    def revisions_of(self, draft_id: int) -> list[Contribution]:
        """The drafts that revise this one, oldest first."""
        return [c for c in self.drafts() if c.revises == draft_id]

    def check_critique(self, actor: Actor, draft_id: int) -> None:
        """Refuse a critique before its form opens: the round, the member, the draft."""
        self._require_round_accepts("critique", "critiques")
        p = self.participants.get(actor.key)
        if actor.kind is ActorKind.HUMAN and p is not None and p.role is Role.OBSERVER:
            raise errors.ObserverCannotAct("You are observing this deliberation, so you cannot critique drafts.")
        self._draft(draft_id, "critique")

    def _draft(self, draft_id: int, doing: str) -> Contribution:
        target = self.contributions.get(draft_id)
        if target is None:
            raise errors.NotFound(f"There is no draft #{draft_id} here to {doing}.")
        if target.kind is not ContributionKind.DRAFT:
            raise errors.InvalidValue(f"#{draft_id} is a {target.kind.value}, not a draft.")
        return target

    def revisers(self, draft_id: int) -> tuple[str, ...]:
        """AI participants due to revise a draft: those without a revision of it since its latest
        critique by a member the AI may read (opted-out members' words never reach a prompt).

        Refuses, in plain words, a draft no member has critiqued: a revision answers critiques.
        """
        draft = self._draft(draft_id, "revise")
        critiques = self.critiques_of(draft.id, members_only=True)
        if not critiques:
            raise errors.InvalidValue(
                f"No member has critiqued draft #{draft.id} yet, and a revision answers the members' critiques. "
                "Critique it first (its Critique button or /summary critique)."
            )
        readable = [c for c in critiques if not self.participants[c.author].ai_opt_out]
        if not readable:
            raise errors.InvalidValue(
                f"Every critique of draft #{draft.id} is by a member who opted out of AI processing, so the AI "
                "participants cannot read them. Write the revised proposal yourself with /summary propose."
            )
        latest = readable[-1].id
        revised = {r.author for r in self.revisions_of(draft.id) if r.id > latest}
        due = tuple(name for name in self.ai_seats if f"ai:{name}" not in revised)
        if not due:
            raise errors.AlreadyRecorded(
                f"Draft #{draft.id} has been revised since its last critique the AI participants may read; "
                "critique it (or its revision) again first."
            )
        return due

    def check_revision(self, actor: Actor, draft_id: int) -> tuple[str, ...]:
        """Refuse `/summary revise` unless the moderator asks, in a round for drafts, with an AI
        seated, of a draft members have critiqued since it was last revised. Returns who revises."""
        self._require_moderator(actor, "ask the AI participants to revise a draft")
        self.check_accepts("draft")
        if not self.ai_seats:
            raise errors.InvalidValue(
                "No AI participant sits at this deliberation; write the revised proposal with /summary propose."
            )
        return self.revisers(draft_id)

    def revise_draft(
        self,
        actor: Actor,
        text: str,
        draft_id: int,
        at: datetime,
        *,
        answers: Sequence[int] = (),
        meta: dict[str, Any] | None = None,
    ) -> list[Event]:
        """An AI participant's revision of a draft, answering the members' critiques: a new draft
        linked to the one it revises (a proposal only, like every draft)."""
        if actor.kind is not ActorKind.AI:
            raise errors.PermissionDenied(
                "Only AI participants revise drafts, when the moderator asks (/summary revise); "
                "the moderator writes a proposal with /summary propose."
            )
        self._require_round_accepts("draft", "drafts")
        self._any_voice(actor, "revise a draft", at)
        if actor.id not in self.revisers(draft_id):
            raise errors.AlreadyRecorded(f"{actor.id} has revised draft #{draft_id} since its last critique.")
        *events, added = self.draft(actor, text, at, answers=answers, meta=meta)
        assert isinstance(added.payload, ContributionAdded)
        return [*events, replace(added, payload=replace(added.payload, revises=draft_id))]

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
        return [Event(actor, at, ContributionEdited(c.id, new_stance, body))]

    def vote(
        self, actor: Actor, statement_id: int, choice: Vote, at: datetime, *, imported: bool = False
    ) -> list[Event]:
        """A member's agree / disagree / pass on what another participant wrote. Their own words
        already say where they stand, so a vote on them is refused; a conversation `imported`
        from Polis keeps the votes its authors cast there (Polis counts an author's agree)."""
        self._require_round_accepts("vote", "votes")
        events = self._human_voice(actor, "vote", at)
        statement = self._contribution(statement_id)
        if statement.kind not in VOTABLE:
            raise errors.InvalidValue("Votes are on positions and statements.")
        if statement_id in self.moderated_out:
            raise errors.InvalidValue(f"#{statement_id} was moderated out; it takes no more votes.")
        if statement.author == actor.key and not imported:
            raise errors.InvalidValue(
                f"#{statement_id} is your own {statement.kind.value}: it already says where you stand, "
                "so you do not vote on it. Votes are on what others wrote."
            )
        current = self.votes.get((statement_id, actor.key))
        if current is not None and current.vote is choice:
            raise errors.AlreadyRecorded(f"Your vote on #{statement_id} is already {choice.value}.")
        return [*events, Event(actor, at, Voted(statement_id, choice))]

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
        raised = ObjectionRaised(self.next_id, body_what, body_why, target, block=False)
        return [*events, Event(actor, at, raised)]

    def move_objection(
        self, actor: Actor, objection_id: int, status: ObjectionStatus, at: datetime, *, reason: str = ""
    ) -> list[Event]:
        """The author withdraws or reopens; the moderator marks addressed, saying why (the author is
        told and may reopen it). Standing is set at sealing. A reason is kept verbatim; withdrawing
        and reopening may give one."""
        joining = self._move_joining(actor, objection_id, status, at)
        why = clean_text(reason, "reason", REASON_MAX) if (reason or "").strip() else ""
        if status is ObjectionStatus.ADDRESSED and not why:
            raise errors.InvalidValue(
                "Say why the objection is addressed: its author is told, and the record quotes it."
            )
        return [*joining, Event(actor, at, ObjectionMoved(objection_id, status, why))]

    def check_move(self, actor: Actor, objection_id: int, status: ObjectionStatus) -> None:
        """Refuse a status change before its form opens: who may, and from which status."""
        self._move_joining(actor, objection_id, status, self.created_at or datetime.min)

    def _move_joining(self, actor: Actor, objection_id: int, status: ObjectionStatus, at: datetime) -> list[Event]:
        """The checks of `move_objection`; the event seating a member with the guild's moderator
        rights the first time they mark one addressed."""
        self._require_open()
        if actor.kind is ActorKind.AI:
            raise errors.NotForAI("AI participants cannot change an objection.")
        o = self._objection(objection_id)
        is_author = o.author == actor.key
        joining: list[Event] = []
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
            joining = self._moderating(actor, "mark an objection addressed", at)
            if o.status is not ObjectionStatus.OPEN:
                raise errors.InvalidTransition(f"Objection #{o.id} is {o.status.value}, not open.")
        elif status is ObjectionStatus.OPEN:
            if not is_author:
                raise errors.NotYourContribution("Only the member who raised an objection can reopen it.")
            if o.status is not ObjectionStatus.ADDRESSED:
                raise errors.InvalidTransition(f"Objection #{o.id} is {o.status.value}; only addressed ones reopen.")
        else:
            raise errors.InvalidTransition("Objections become standing when the record is sealed.")
        return joining

    def propose(self, actor: Actor, text: str, at: datetime) -> list[Event]:
        """The moderator puts a proposal written by hand."""
        events = self._moderating(actor, "put a proposal to the group", at)
        self._require_proposal_round()
        body = clean_text(text, "proposal", TEXT_MAX)
        if self.proposal is not None and self.proposal.text == body:
            raise errors.AlreadyRecorded("This proposal is already the one before the group.")
        return [*events, Event(actor, at, ProposalSet(body, ProposalSource.HUMAN, None))]

    def adopt(self, actor: Actor, draft_id: int, at: datetime, *, amended_text: str | None = None) -> list[Event]:
        """The moderator adopts a draft as is, or amended; the record says which and by whom."""
        events = self._moderating(actor, "adopt a draft", at)
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
        return [*events, Event(actor, at, ProposalSet(text, source, draft_id))]

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
        events.append(Event(actor, at, ConsentGiven(choice, why)))
        if current is not None and current.choice is ConsentChoice.BLOCK:
            for o in self.objections.values():
                if o.author == actor.key and o.from_block and o.status is ObjectionStatus.OPEN:
                    events.append(Event(actor, at, ObjectionMoved(o.id, ObjectionStatus.WITHDRAWN)))
        if choice is ConsentChoice.BLOCK:
            events.append(Event(actor, at, ObjectionRaised(self.next_id, "Block", why, None, block=True)))
        return events

    def ask_ai(self, actor: Actor, at: datetime) -> AIAsk:
        """What `/ai speak` means now: in the positions round, the AI participants still waiting
        state positions (the request is recorded, once per round); in the synthesis round, they
        critique the draft before the group. Other rounds are for members."""
        self._require_moderator(actor, "ask the AI participants to speak")
        self._require_open()
        if not self.ai_seats:
            raise errors.InvalidValue("No AI participant sits at this deliberation.")
        kind = self.round.kind
        if kind is RoundKind.POSITIONS:
            events = [] if self.round.ai_requested else self.request_ai(actor, at)
            # The moderator's ask is the override: every seat still without a position, one
            # that failed earlier in this round included (only automatic turns skip those).
            due = self.ai_without_position()
            if not due:
                raise errors.AlreadyRecorded("Every AI participant has stated a position in this round.")
            return AIAsk("position", tuple(due), events)
        if kind is RoundKind.SYNTHESIS:
            return AIAsk("critique", tuple(self.ai_seats), [], target=self.draft_before_the_group())
        raise errors.WrongRound(
            f"The {kind.value} round is for members: AI participants speak in the positions and synthesis rounds."
        )

    def check_ai_drafting(self, actor: Actor) -> None:
        """Refuse `/summary draft` unless the moderator asks, in a round for drafts, with an AI seated."""
        self._require_moderator(actor, "ask the AI participants for drafts")
        self.check_accepts("draft")
        if not self.ai_seats:
            raise errors.InvalidValue(
                "No AI participant sits at this deliberation; write the proposal with /summary propose."
            )

    def check_proposing(self, actor: Actor) -> None:
        """Refuse before the moderator starts writing a proposal that could not be put."""
        self._require_moderator(actor, "put a proposal to the group")
        self._require_proposal_round()

    def draft_before_the_group(self) -> int:
        """The draft AI participants critique: the adopted one, else the newest draft."""
        if self.proposal is not None and self.proposal.draft_id is not None:
            return self.proposal.draft_id
        drafts = self.drafts()
        if not drafts:
            raise errors.NotFound("There is no draft to critique yet: ask for drafts with /summary draft.")
        return drafts[-1].id

    def request_ai(self, actor: Actor, at: datetime) -> list[Event]:
        """The moderator asks the AI participants to speak now, before they are due."""
        events = self._moderating(actor, "ask the AI participants to speak", at)
        self._require_open()
        if not self.ai_seats:
            raise errors.InvalidValue("No AI participant sits at this deliberation.")
        if self.round.ai_requested:
            raise errors.AlreadyRecorded("The AI participants were already asked to speak in this round.")
        return [*events, Event(actor, at, AIRequested(self.current))]

    def note_ai_unavailable(self, name: str, reason: str, at: datetime) -> list[Event]:
        """An AI participant failed; the deliberation goes on and the record says so."""
        self._require_open()
        if name not in self.ai_seats:
            raise errors.NotFound(f"No AI participant called {name} sits at this deliberation.")
        return [Event(Actor.ai(name), at, AIUnavailableNoted(reason[:REASON_MAX], len(self.ai_unavailable)))]

    def extend(self, actor: Actor, minutes: int, at: datetime) -> list[Event]:
        events = self._moderating(actor, "extend a round", at)
        self._require_open()
        if not 1 <= minutes <= MAX_EXTEND_MINUTES:
            raise errors.InvalidValue(f"Extend by 1 minute to {MAX_EXTEND_MINUTES // 1440} days.")
        assert self.round.deadline is not None
        base = max(self.round.deadline, at)
        deadline = base + timedelta(minutes=minutes)
        return [*events, Event(actor, at, RoundExtended(self.current, deadline))]

    def cancel(self, actor: Actor, reason: str, at: datetime) -> list[Event]:
        events = self._moderating(actor, "cancel the deliberation", at)
        self._require_open()
        why = clean_text(reason, "reason", REASON_MAX)
        return [*events, Event(actor, at, DeliberationCancelled(why))]

    def advance(self, actor: Actor, at: datetime, *, force: bool = False, confirmed: int | None = None) -> list[Event]:
        """Close the current round and open the next, or seal the record after the last.

        The moderator may close a round before its minimum duration only by forcing it, which
        the record shows. Closing a consent round before its deadline while members have not
        answered needs a confirmation naming that round (`confirmed`), so a double click never
        seals a record no one answered. The system closes a round only once its deadline has passed.
        """
        self._require_open()
        r = self.round
        if confirmed is not None and confirmed != self.current:
            raise errors.InvalidTransition(
                f"Round {confirmed + 1} is no longer the current round; nothing was closed. Look at the "
                "deliberation's status and advance again if you still want to."
            )
        assert r.min_close_at is not None
        assert r.deadline is not None
        joining: list[Event] = []
        if actor.kind is ActorKind.SYSTEM:
            if at < r.deadline:
                raise errors.RoundTooYoung("The round's deadline has not passed yet.")
            forced = False
        else:
            joining = self._moderating(actor, "close a round", at)
            if at < r.min_close_at and not force:
                left = r.min_close_at - at
                minutes = max(1, int(left.total_seconds() // 60))
                raise errors.RoundTooYoung(
                    f"The {r.kind.value} round has a minimum duration; {minutes} more minute(s) to go. "
                    "Force it to close now (the record will say it was forced)."
                )
            forced = at < r.min_close_at
            if at < r.deadline and confirmed is None:
                self._confirm_skipping(r)
        # A ranking takes ballots until its round closes; closing it says so and posts its result.
        ranking = self.open_ranking_now()
        if ranking is not None:
            joining.append(Event(actor, at, RankingClosed(ranking.number)))
        events = [*joining, Event(actor, at, RoundClosed(self.current, forced))]
        if self.current + 1 < len(self.rounds):
            events.append(_round_opened(self.current + 1, at, self.settings))
        else:
            events.append(Event(actor, at, DeliberationSealed()))
        return events

    def _confirm_skipping(self, r: Round) -> None:
        """Ask for confirmation before a consent round closes early on members who have not answered."""
        if r.kind is not RoundKind.CONSENT:
            return
        members = [p for p in self.humans() if p.role is Role.PARTICIPANT]
        waiting = [p for p in members if p.key not in self.consent]
        if self.consent and not waiting:
            return
        answered = len(members) - len(waiting)
        names = ", ".join(self.display_name(p.key) for p in waiting) or "nobody has joined"
        last = self.current + 1 == len(self.rounds)
        then = "seals the decision record" if last else "moves on"
        raise errors.NeedsConfirmation(
            f"Closing the consent round now {then} with {answered} of {len(members)} member(s) answered "
            f"(not yet: {names}). Confirm to close it anyway.",
            self.current,
        )

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
        added = ContributionAdded(
            self.next_id, kind, text, self.current, stance=stance, reply_to=reply_to, answers=answers, ai=meta or None
        )
        return Event(actor, at, added)

    # ------------------------------------------------------------------ rankings of drafts

    def standing_drafts(self) -> list[Contribution]:
        """The drafts before the group, to rank: every draft of this deliberation (none is withdrawn)."""
        return self.drafts()

    def open_ranking_now(self) -> Ranking | None:
        """The ranking taking ballots now, if any (one at a time)."""
        return next((r for r in self.rankings if r.is_open), None)

    def ranking(self, number: int) -> Ranking:
        if not 1 <= number <= len(self.rankings):
            raise errors.NotFound(f"There is no ranking #{number} in this deliberation.")
        return self.rankings[number - 1]

    def open_ranking(self, actor: Actor, at: datetime, *, drafts: Sequence[int] | None = None) -> list[Event]:
        """The moderator opens a ranking of the standing drafts (or of the ones named), two or more.

        Its drafts are fixed when it opens; a draft added later is ranked in a new ranking.
        """
        events = self._moderating(actor, "open a ranking of the drafts", at)
        self._require_open()
        if self.round.kind is not RoundKind.SYNTHESIS:
            if not any(r.kind is RoundKind.SYNTHESIS for r in self.rounds):
                raise errors.WrongRound(f"The {self.template} process has no synthesis round, so no drafts to rank.")
            raise errors.WrongRound(
                f"The {self.round.kind.value} round is under way; drafts are ranked in the synthesis round."
            )
        current = self.open_ranking_now()
        if current is not None:
            raise errors.AlreadyRecorded(f"Ranking #{current.number} is open already; close it before opening another.")
        standing = [c.id for c in self.standing_drafts()]
        if drafts is None:
            chosen = standing
        else:
            chosen = list(drafts)
            for i in chosen:
                if i not in standing:
                    raise errors.NotFound(f"There is no draft #{i} standing in this deliberation.")
            if len(set(chosen)) != len(chosen):
                raise errors.InvalidValue("A draft is named twice; name each draft to rank once.")
        if len(chosen) < 2:
            there = "there is one" if chosen else "there are none"
            raise errors.InvalidValue(f"A ranking needs two or more drafts; {there} to rank. Ask for drafts first.")
        if len(chosen) > MAX_RANKED_DRAFTS:
            raise errors.InvalidValue(
                f"A ranking takes at most {MAX_RANKED_DRAFTS} drafts and {len(chosen)} stand; name the ones to rank."
            )
        return [*events, Event(actor, at, RankingOpened(len(self.rankings) + 1, tuple(sorted(chosen))))]

    def check_ranking(self, actor: Actor, number: int | None = None) -> Ranking:
        """The ranking a member may rank in now, refused (as a ballot would be) before a menu opens."""
        if actor.kind is ActorKind.AI:
            raise errors.NotForAI("AI participants never rank drafts; only members do.")
        if actor.kind is not ActorKind.HUMAN:
            raise errors.PermissionDenied("Only members rank drafts.")
        p = self.participants.get(actor.key)
        if p is not None and p.role is Role.OBSERVER:
            raise errors.ObserverCannotAct("You are observing this deliberation, so you cannot rank drafts.")
        self._require_open()
        if number is None:
            r = self.open_ranking_now()
            if r is None:
                raise errors.RankingNotOpen("No ranking of drafts is open; the moderator opens one.")
            return r
        r = self.ranking(number)
        if not r.is_open:
            raise errors.RankingNotOpen(f"Ranking #{r.number} is closed; it takes no more ballots.")
        return r

    def rank(self, actor: Actor, order: Sequence[int], at: datetime, *, ranking: int | None = None) -> list[Event]:
        """A member's ballot: some or all of the ranking's drafts, best first, each once.

        Drafts left out rank below those named; naming all but one names the last too, so the
        ballot is stored complete. A new ballot replaces the member's last while the ranking is open.
        """
        r = self.check_ranking(actor, ranking)
        events = self._human_voice(actor, "rank drafts", at)
        ballot = list(order)
        if not ballot:
            raise errors.InvalidValue("Rank at least one draft, your first choice.")
        for i in ballot:
            if i not in r.drafts:
                raise errors.NotFound(f"Draft #{i} is not in ranking #{r.number}; it ranks {drafts_list(r.drafts)}.")
        if len(set(ballot)) != len(ballot):
            raise errors.InvalidValue("A draft appears twice in your ranking; rank each draft once.")
        left = [i for i in r.drafts if i not in ballot]
        if len(left) == 1:
            ballot += left
        if r.ballots.get(actor.key) == tuple(ballot):
            raise errors.AlreadyRecorded("Your ballot is already this ranking.")
        return [*events, Event(actor, at, BallotCast(r.number, tuple(ballot)))]

    def close_ranking(self, actor: Actor, at: datetime) -> list[Event]:
        """The moderator closes the open ranking; its result is then shown (still only a proposal)."""
        events = self._moderating(actor, "close the ranking", at)
        self._require_open()
        r = self.open_ranking_now()
        if r is None:
            raise errors.RankingNotOpen("No ranking of drafts is open.")
        return [*events, Event(actor, at, RankingClosed(r.number))]

    # ------------------------------------------------------------------ applying

    def apply(self, event: Event) -> None:
        """Fold one event into the state. Never refuses: events were checked when decided."""
        _APPLY[event.kind](self, event.actor, event.at, event.payload)
        self.events_applied += 1

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    def _apply_opened(self, actor: Actor, at: datetime, p: DeliberationOpened) -> None:
        self.question = p.question
        self.template = p.template
        self.settings = p.settings
        self.moderator = p.moderator
        self.invited = p.invited
        self.created_at = at
        self.rounds = [Round(i, kind) for i, kind in enumerate(p.rounds)]
        for spec in p.ai_participants:
            self.ai_seats[spec.name] = spec
            self.participants[f"ai:{spec.name}"] = Participant(
                f"ai:{spec.name}",
                ActorKind.AI,
                spec.name,
                Role.PARTICIPANT,
                at,
                model=spec.model,
                endpoint_host=spec.endpoint_host,
            )

    def _apply_joined(self, actor: Actor, at: datetime, p: ParticipantJoined) -> None:
        # The moderator acts in the open; everyone else is numbered in the order they joined.
        n = sum(1 for q in self.participants.values() if q.is_human and q.role is not Role.MODERATOR)
        alias = "Moderator" if p.role is Role.MODERATOR else f"Participant {n + 1}"
        self.participants[actor.key] = Participant(actor.key, actor.kind, p.name or actor.name, p.role, at, alias=alias)

    def _apply_role(self, actor: Actor, at: datetime, p: RoleChanged) -> None:
        self.participants[actor.key].role = p.role

    def _apply_opt_out(self, actor: Actor, at: datetime, p: AIOptOutSet) -> None:
        self.participants[actor.key].ai_opt_out = p.opted_out

    def _apply_reminders(self, actor: Actor, at: datetime, p: RemindersSet) -> None:
        self.participants[actor.key].reminders = p.on

    def _apply_round_opened(self, actor: Actor, at: datetime, p: RoundOpened) -> None:
        r = self.rounds[p.round]
        r.status = RoundStatus.OPEN
        r.opened_at = at
        r.deadline = p.deadline
        r.min_close_at = p.min_close_at
        self.current = r.index

    def _apply_round_closed(self, actor: Actor, at: datetime, p: RoundClosed) -> None:
        r = self.rounds[p.round]
        r.status = RoundStatus.CLOSED
        r.closed_at = at
        r.forced = p.forced
        r.closed_by = actor.key

    def _apply_extended(self, actor: Actor, at: datetime, p: RoundExtended) -> None:
        self.rounds[p.round].deadline = p.deadline

    def _apply_contribution(self, actor: Actor, at: datetime, p: ContributionAdded) -> None:
        self.contributions[p.id] = Contribution(
            id=p.id,
            kind=p.kind,
            author=actor.key,
            round_index=p.round,
            at=at,
            stance=p.stance,
            text=p.text,
            reply_to=p.reply_to,
            answers=p.answers,
            ai_meta=dict(p.ai) if p.ai else None,
            revises=p.revises,
        )
        self.next_id = p.id + 1

    def _apply_edited(self, actor: Actor, at: datetime, p: ContributionEdited) -> None:
        c = self.contributions[p.id]
        c.history.append(Revision(c.stance, c.text, c.updated_at or c.at))
        c.updated_at = at
        c.stance = p.stance
        c.text = p.text

    def _apply_vote(self, actor: Actor, at: datetime, p: Voted) -> None:
        cast = VoteCast(p.statement, actor.key, p.vote, at)
        self.votes[(cast.statement_id, cast.member)] = cast
        self.vote_history.append(cast)

    def _apply_objection(self, actor: Actor, at: datetime, p: ObjectionRaised) -> None:
        self.objections[p.id] = Objection(
            id=p.id,
            author=actor.key,
            round_index=self.current,
            at=at,
            what=p.what,
            why=p.why,
            from_block=p.block,
            target=p.target,
            history=[StatusChange(ObjectionStatus.OPEN, actor.key, at)],
        )
        self.next_id = p.id + 1

    def _apply_moved(self, actor: Actor, at: datetime, p: ObjectionMoved) -> None:
        o = self.objections[p.id]
        o.status = p.status
        o.history.append(StatusChange(o.status, actor.key, at, p.reason))

    def _apply_proposal(self, actor: Actor, at: datetime, p: ProposalSet) -> None:
        self.proposal = Proposal(p.text, p.source, actor.key, at, p.draft)
        self.proposal_history.append(self.proposal)

    def _apply_consent(self, actor: Actor, at: datetime, p: ConsentGiven) -> None:
        response = ConsentResponse(actor.key, p.choice, p.reason, at)
        self.consent[actor.key] = response
        self.consent_history.append(response)

    def _apply_moderated(self, actor: Actor, at: datetime, p: StatementModerated) -> None:
        if p.hidden:
            self.moderated_out.add(p.id)
        else:
            self.moderated_out.discard(p.id)

    def _apply_ai_requested(self, actor: Actor, at: datetime, p: AIRequested) -> None:
        self.rounds[p.round].ai_requested = True

    def _apply_ai_unavailable(self, actor: Actor, at: datetime, p: AIUnavailableNoted) -> None:
        self.ai_unavailable.append((actor.id, p.reason, at, self.current))

    def _apply_cancelled(self, actor: Actor, at: datetime, p: DeliberationCancelled) -> None:
        self.status = DeliberationStatus.CANCELLED
        self.cancel_reason = p.reason
        self.closed_at = at

    def _apply_sealed(self, actor: Actor, at: datetime, p: DeliberationSealed) -> None:
        # Whatever is still open when the record is sealed stands (principle 2).
        for o in self.objections.values():
            if o.status is ObjectionStatus.OPEN:
                o.status = ObjectionStatus.STANDING
                o.history.append(StatusChange(ObjectionStatus.STANDING, actor.key, at))
        if self.proposal is None:
            self.proposal = Proposal(self.question, ProposalSource.MOTION, self.moderator, at)
        self.status = DeliberationStatus.CLOSED
        self.closed_at = at


def _apply_ranking_opened(d: Deliberation, actor: Actor, at: datetime, p: RankingOpened) -> None:
    d.rankings.append(Ranking(p.number, d.current, p.drafts, actor.key, at))


def _apply_ballot(d: Deliberation, actor: Actor, at: datetime, p: BallotCast) -> None:
    r = d.rankings[p.ranking - 1]
    if actor.key in r.ballots:
        r.changes += 1
    r.ballots[actor.key] = p.order


def _apply_ranking_closed(d: Deliberation, actor: Actor, at: datetime, p: RankingClosed) -> None:
    r = d.rankings[p.ranking - 1]
    r.closed_at = at
    r.closed_by = actor.key


def _round_opened(index: int, at: datetime, settings: DeliberationSettings) -> Event:
    return Event(
        Actor.system("process"),
        at,
        RoundOpened(
            index,
            deadline=at + timedelta(minutes=settings.round_minutes),
            min_close_at=at + timedelta(minutes=settings.min_round_minutes),
        ),
    )


_APPLY: dict[EventKind, Callable[[Deliberation, Actor, datetime, Any], None]] = {
    EventKind.OPENED: Deliberation._apply_opened,
    EventKind.JOINED: Deliberation._apply_joined,
    EventKind.ROLE_CHANGED: Deliberation._apply_role,
    EventKind.AI_OPT_OUT: Deliberation._apply_opt_out,
    EventKind.REMINDERS: Deliberation._apply_reminders,
    EventKind.ROUND_OPENED: Deliberation._apply_round_opened,
    EventKind.ROUND_CLOSED: Deliberation._apply_round_closed,
    EventKind.ROUND_EXTENDED: Deliberation._apply_extended,
    EventKind.CONTRIBUTION_ADDED: Deliberation._apply_contribution,
    EventKind.CONTRIBUTION_EDITED: Deliberation._apply_edited,
    EventKind.VOTE_CAST: Deliberation._apply_vote,
    EventKind.OBJECTION_RAISED: Deliberation._apply_objection,
    EventKind.OBJECTION_MOVED: Deliberation._apply_moved,
    EventKind.PROPOSAL_SET: Deliberation._apply_proposal,
    EventKind.CONSENT_GIVEN: Deliberation._apply_consent,
    EventKind.STATEMENT_MODERATED: Deliberation._apply_moderated,
    EventKind.AI_REQUESTED: Deliberation._apply_ai_requested,
    EventKind.AI_UNAVAILABLE: Deliberation._apply_ai_unavailable,
    EventKind.CANCELLED: Deliberation._apply_cancelled,
    EventKind.SEALED: Deliberation._apply_sealed,
    EventKind.RANKING_OPENED: _apply_ranking_opened,
    EventKind.BALLOT_CAST: _apply_ballot,
    EventKind.RANKING_CLOSED: _apply_ranking_closed,
}

# Every kind a deliberation's own chain holds (guild settings live in the guild's chain).
EVENT_KINDS = frozenset(_APPLY)

__all__ = ["BIDI_CONTROLS", "EVENT_KINDS", "AIAsk", "Deliberation", "clean_text"]
