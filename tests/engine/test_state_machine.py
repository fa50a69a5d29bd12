"""Random sequences of actions by moderators, members, observers and AI never break the invariants.

- AI participants are never counted: no AI consent, vote or objection ever exists.
- A refused action changes nothing: no event, and the state composes the same record.
- Every standing objection appears verbatim in the sealed record.
- The stored hash chain verifies, and replaying it rebuilds the same deliberation.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.engine import (
    ActorKind,
    ConsentChoice,
    Deliberation,
    ObjectionStatus,
    Role,
    RoundtableError,
    Vote,
    compose_record,
    outcome_of,
    render_markdown,
)
from bot.engine.markdown import quote
from bot.engine.templates import RoundKind
from bot.store import Store
from tests.engine.helpers import ADA, BEN, CAI, MOD, OBS, SAGE, Table

ACTORS = [MOD, ADA, BEN, CAI, OBS, SAGE]
TEXTS = st.one_of(
    st.sampled_from(
        ["Yes", "No", "Fridays exclude parents", "  ", "", "@everyone look", "x" * 4001, "**bold** > quote"]
    ),
    st.text(min_size=0, max_size=60),
)
actors = st.sampled_from(ACTORS)
ids = st.integers(min_value=0, max_value=12)


class DeliberationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # The consent template has every kind of round, so every rule can be accepted somewhere.
        self.t = Table("consent", quorum=2)
        self.t.do("join", OBS, Role.OBSERVER)
        self.refusals = 0

    def attempt(self, method: str, *args: object, **kwargs: object) -> None:
        before_events = len(self.t.events)
        before_record = compose_record(self.t.d)
        try:
            self.t.do(method, *args, **kwargs)
        except RoundtableError as refusal:
            self.refusals += 1
            message = refusal.user_message
            assert message.strip(), "a refusal without a message"
            assert len(self.t.events) == before_events, "a refused action recorded an event"
            assert compose_record(self.t.d) == before_record, "a refused action changed the state"

    @rule(actor=actors, stance=TEXTS, text=TEXTS)
    def state_position(self, actor, stance, text) -> None:
        if actor.kind is ActorKind.AI:
            self.attempt("ai_position", actor, stance, text, meta={"model": "m"})
        else:
            self.attempt("state_position", actor, stance, text)

    @rule(actor=actors, ref=ids, text=TEXTS)
    def edit(self, actor, ref, text) -> None:
        self.attempt("edit_contribution", actor, ref, text)

    @rule(actor=actors, ref=ids, choice=st.sampled_from(Vote))
    def vote(self, actor, ref, choice) -> None:
        self.attempt("vote", actor, ref, choice)

    @rule(actor=actors, what=TEXTS, why=TEXTS)
    def object(self, actor, what, why) -> None:
        self.attempt("object", actor, what, why)

    @rule(actor=actors, ref=ids, status=st.sampled_from(ObjectionStatus), why=st.one_of(st.just(""), TEXTS))
    def move_objection(self, actor, ref, status, why) -> None:
        self.attempt("move_objection", actor, ref, status, reason=why)

    @rule(actor=actors, text=TEXTS, ref=ids)
    def synthesis(self, actor, text, ref) -> None:
        self.attempt("draft", actor, text, answers=[ref])
        self.attempt("critique", actor, text, ref)

    @rule(actor=actors, text=TEXTS, ref=ids)
    def revise(self, actor, text, ref) -> None:
        self.attempt("revise_draft", actor, text, ref, answers=[ref], meta={"model": "m"})

    @rule()
    def moderator_moves_on(self) -> None:
        # Random actors rarely close a round; without this the later rounds are seldom reached.
        self.t.wait(11)
        self.attempt("advance", MOD)

    @precondition(lambda self: self.t.d.is_open and self.t.d.round.kind is RoundKind.SYNTHESIS)
    @rule(actor=actors, text=TEXTS)
    def critique_and_revise_the_newest_draft(self, actor, text) -> None:
        if not self.t.d.drafts():
            self.attempt("draft", SAGE, "Meet on Fridays.", meta={"model": "m"})
        target = self.t.d.drafts()[-1].id
        self.attempt("critique", actor, text, target)
        self.attempt("revise_draft", SAGE, text, target, answers=[target], meta={"model": "m"})

    @rule(actor=actors, draft=ids, text=st.one_of(st.none(), TEXTS))
    def propose_or_adopt(self, actor, draft, text) -> None:
        if text is not None:
            self.attempt("propose", actor, text)
        self.attempt("adopt", actor, draft, amended_text=text)

    @rule(actor=actors, choice=st.sampled_from(ConsentChoice), reason=TEXTS)
    def consent(self, actor, choice, reason) -> None:
        self.attempt("give_consent", actor, choice, reason=reason)

    @rule(actor=actors, minutes=st.integers(min_value=0, max_value=90), force=st.booleans())
    def advance(self, actor, minutes, force) -> None:
        self.t.wait(minutes)
        self.attempt("advance", actor, force=force)

    @rule(actor=actors)
    def ask_ai(self, actor) -> None:
        self.attempt("request_ai", actor)

    @precondition(lambda self: self.t.d.is_open)
    @rule(actor=actors, reason=TEXTS)
    def cancel_rarely(self, actor, reason) -> None:
        if reason == "Yes":  # rare, so most runs reach a sealed record
            self.attempt("cancel", actor, reason)

    @invariant()
    def ai_is_never_counted(self) -> None:
        d = self.t.d
        assert all(not key.startswith("ai:") for key in d.consent)
        assert all(not member.startswith("ai:") for (_, member) in d.votes)
        assert all(not o.author.startswith("ai:") for o in d.objections.values())
        assert all(not p.author.startswith("ai:") or p.by_ai for p in d.contributions.values())
        humans = sum(1 for key in d.consent if key.startswith("human:"))
        assert outcome_of(d).responded == humans
        observers = {p.key for p in d.participants.values() if p.role is Role.OBSERVER}
        assert not observers & set(d.consent)

    @invariant()
    def objections_are_addressed_only_with_a_reason_and_the_record_says_so(self) -> None:
        d = self.t.d
        for o in d.objections.values():
            assert all(c.reason.strip() for c in o.history if c.status is ObjectionStatus.ADDRESSED)
            assert o.history[0].status is ObjectionStatus.OPEN
        if not d.is_open:
            for o in compose_record(d).objections:
                assert o.history is not None
                assert len(o.history) == len(d.objections[o.id].history)

    def teardown(self) -> None:
        t = self.t
        while t.d.is_open:
            t.wait(61)
            t.do("advance", MOD, force=True)
        record = compose_record(t.d)
        markdown = render_markdown(record)
        for o in t.d.objections.values():
            if o.status is ObjectionStatus.STANDING:
                quoted = [(s.what, s.why) for s in record.standing_objections]
                assert (o.what, o.why) in quoted
                assert quote(o.why) in markdown
        asyncio.run(self.store_and_verify())

    async def store_and_verify(self) -> None:
        t = self.t
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(Path(tmp) / "rt.sqlite3")
            try:
                d_id = await store.create_deliberation(
                    t.d.guild_id,
                    None,
                    t.events[:3],
                    question=t.d.question,
                    template="consent",
                    round_kind="positions",
                    deadline_at=t.now + timedelta(hours=1),
                )
                sealed = t.d.status.value == "closed"
                record = compose_record(Deliberation.from_events(d_id, t.d.guild_id, t.events)) if sealed else None
                # The rows the service would write with these events (verify rebuilds and compares them).
                is_open = t.d.is_open
                await store.append(
                    t.d.guild_id,
                    d_id,
                    t.events[3:],
                    status=t.d.status.value,
                    round_kind=t.d.round.kind.value if is_open else None,
                    deadline_at=t.d.round.deadline if is_open else None,
                    contributions=t.d.contributions.values(),
                    record=record,
                    markdown=render_markdown(record) if record is not None else "",
                )
                assert await store.verify() == []
                replayed = Deliberation.from_events(d_id, t.d.guild_id, await store.load_events(t.d.guild_id, d_id))
                assert compose_record(replayed) == replace(compose_record(t.d), deliberation_id=d_id)
            finally:
                await store.close()


DeliberationMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestDeliberationMachine = DeliberationMachine.TestCase
