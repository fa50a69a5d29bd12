"""The engine's rules, one by one, as a moderator and members would meet them."""

from __future__ import annotations

import json

import pytest

from bot.engine import (
    Actor,
    ConsentChoice,
    DeliberationStatus,
    ObjectionStatus,
    OutcomeKind,
    ProposalSource,
    Role,
    RoundKind,
    Vote,
    compose_record,
    decide_outcome,
    errors,
    outcome_of,
    render_markdown,
)
from bot.engine.errors import InvalidTransition, NeedsConfirmation, PermissionDenied
from bot.engine.events import EventKind
from bot.engine.model import TEXT_MAX
from tests.engine.helpers import ADA, BEN, CAI, MOD, OBS, SAGE, Table


def positions(t: Table, *who: tuple) -> list[int]:
    ids = []
    for actor, stance, text in who:
        events = t.do("state_position", actor, stance, text)
        ids.append(events[-1].payload.id)
    return ids


def to_consent(t: Table) -> None:
    while t.d.round.kind is not RoundKind.CONSENT:
        t.wait(11)
        t.advance()


# ---------------------------------------------------------------- rounds


def test_templates_define_rounds() -> None:
    assert [r.kind for r in Table("consent").d.rounds] == [
        RoundKind.POSITIONS,
        RoundKind.DISSENT,
        RoundKind.SYNTHESIS,
        RoundKind.CONSENT,
    ]
    assert [r.kind for r in Table("quick").d.rounds] == [RoundKind.POSITIONS, RoundKind.CONSENT]
    assert [r.kind for r in Table("advice").d.rounds] == [RoundKind.POSITIONS, RoundKind.SYNTHESIS]


def test_only_the_current_round_accepts_its_input() -> None:
    t = Table()
    with pytest.raises(errors.WrongRound, match="objections belong to the dissent or synthesis round"):
        t.d.object(ADA, "No", "Because", t.now)
    with pytest.raises(errors.WrongRound):
        t.d.give_consent(ADA, ConsentChoice.ENDORSE, t.now)
    t.wait(11)
    t.advance()
    with pytest.raises(errors.WrongRound, match="positions belong to the positions round"):
        t.d.state_position(ADA, "Yes", "Fridays", t.now)


def test_round_cannot_close_before_minimum_unless_forced_and_the_record_says_so() -> None:
    t = Table()
    t.wait(5)
    with pytest.raises(errors.RoundTooYoung, match="minimum duration"):
        t.d.advance(MOD, t.now)
    t.advance(force=True)
    assert t.d.rounds[0].forced is True
    t.wait(11)
    t.advance()
    assert t.d.rounds[1].forced is False
    assert compose_record_after_seal(t)["participation"]["rounds"][0]["forced"] is True


def compose_record_after_seal(t: Table) -> dict:
    """The sealed record as stored: its JSON object."""
    while t.d.is_open:
        t.wait(11)
        t.advance()
    return compose_record(t.d).to_dict()


def test_deadline_is_data_and_the_system_closes_only_after_it() -> None:
    t = Table()
    deadline = t.d.round.deadline
    assert deadline is not None
    t.wait(30)
    with pytest.raises(errors.RoundTooYoung):
        t.d.advance(Actor.system("deadline"), t.now)
    t.now = deadline
    t.do("advance", Actor.system("deadline"))
    assert t.d.round.kind is RoundKind.DISSENT
    assert t.d.rounds[0].closed_by == "system:deadline"


def test_extend_moves_the_deadline_and_only_the_moderator_may() -> None:
    t = Table()
    before = t.d.round.deadline
    assert before is not None
    with pytest.raises(errors.PermissionDenied):
        t.d.extend(ADA, 30, t.now)
    t.do("extend", MOD, 30)
    assert (t.d.round.deadline - before).total_seconds() == 30 * 60
    with pytest.raises(errors.InvalidValue):
        t.d.extend(MOD, 0, t.now)


def test_after_the_last_round_the_record_is_sealed() -> None:
    t = Table("quick")
    t.wait(11)
    t.advance()
    t.wait(11)
    events = t.advance()
    assert events[-1].kind is EventKind.SEALED
    assert t.d.status is DeliberationStatus.CLOSED
    with pytest.raises(errors.DeliberationClosed):
        t.d.advance(MOD, t.now)


def test_cancel_needs_a_reason_and_stops_input() -> None:
    t = Table()
    with pytest.raises(errors.EmptyText):
        t.d.cancel(MOD, "   ", t.now)
    with pytest.raises(errors.PermissionDenied):
        t.d.cancel(ADA, "no", t.now)
    t.do("cancel", MOD, "Asked in the wrong channel")
    assert t.d.status is DeliberationStatus.CANCELLED
    with pytest.raises(errors.DeliberationClosed, match="cancelled"):
        t.d.state_position(ADA, "Yes", "x", t.now)
    assert outcome_of(t.d).kind is OutcomeKind.CANCELLED


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("action", ["advance", "extend", "cancel", "propose", "adopt", "request_ai"])
def test_only_the_moderator_runs_the_process(action: str) -> None:
    t = Table()
    calls = {
        "advance": lambda a: t.d.advance(a, t.now, force=True),
        "extend": lambda a: t.d.extend(a, 5, t.now),
        "cancel": lambda a: t.d.cancel(a, "because", t.now),
        "propose": lambda a: t.d.propose(a, "Fridays", t.now),
        "adopt": lambda a: t.d.adopt(a, 1, t.now),
        "request_ai": lambda a: t.d.request_ai(a, t.now),
    }
    with pytest.raises(errors.PermissionDenied):
        calls[action](ADA)
    with pytest.raises(errors.NotForAI):
        calls[action](SAGE)


def test_members_edit_only_their_own_and_edits_keep_history() -> None:
    t = Table()
    (pid,) = positions(t, (ADA, "Yes", "Fridays suit me"))
    with pytest.raises(errors.NotYourContribution):
        t.d.edit_contribution(BEN, pid, "Hijacked", t.now)
    t.wait(1)
    t.do("edit_contribution", ADA, pid, "Fridays suit me, after six", stance="Yes, late")
    c = t.d.contributions[pid]
    assert (c.stance, c.text) == ("Yes, late", "Fridays suit me, after six")
    assert [(r.stance, r.text) for r in c.history] == [("Yes", "Fridays suit me")]
    # Stating a position again edits it rather than adding a second one.
    t.do("state_position", ADA, "No", "Changed my mind")
    assert len(t.d.positions()) == 1
    assert len(t.d.contributions[pid].history) == 2


def test_observers_only_read() -> None:
    t = Table()
    t.do("join", OBS, Role.OBSERVER)
    with pytest.raises(errors.ObserverCannotAct):
        t.d.state_position(OBS, "Yes", "x", t.now)
    (pid,) = positions(t, (ADA, "Yes", "Fridays"))
    with pytest.raises(errors.ObserverCannotAct):
        t.d.vote(OBS, pid, Vote.AGREE, t.now)
    to_consent(t)
    with pytest.raises(errors.ObserverCannotAct):
        t.d.give_consent(OBS, ConsentChoice.ENDORSE, t.now)


def test_ai_can_only_contribute_positions_critiques_and_drafts() -> None:
    t = Table()
    (pid,) = positions(t, (ADA, "Yes", "Fridays"))
    with pytest.raises(errors.NotForAI):
        t.d.vote(SAGE, pid, Vote.AGREE, t.now)
    with pytest.raises(errors.NotForAI):
        t.d.state_position(SAGE, "Yes", "human path", t.now)
    with pytest.raises(errors.NotForAI):
        t.d.move_objection(SAGE, 1, ObjectionStatus.ADDRESSED, t.now)
    t.wait(11)
    t.advance()
    with pytest.raises(errors.NotForAI):
        t.d.object(SAGE, "No", "Because", t.now)
    t.wait(11)
    t.advance()
    draft = t.do("draft", SAGE, "Meet on Fridays at six.", answers=[pid, 999], meta={"model": "smollm2-135m"})
    assert draft[-1].payload.answers == (pid,)  # unknown ids are dropped
    t.do("critique", SAGE, "Six is early for some.", target=draft[-1].payload.id)
    t.wait(11)
    t.advance()
    with pytest.raises(errors.NotForAI):
        t.d.give_consent(SAGE, ConsentChoice.ENDORSE, t.now)


def test_ai_speaks_after_the_humans_or_at_half_time_unless_asked() -> None:
    t = Table(round_minutes=60)
    positions(t, (ADA, "Yes", "Fridays"))
    t.do("join", BEN, Role.PARTICIPANT)
    assert t.d.ai_due(t.now) == []
    with pytest.raises(errors.AINotDue):
        t.d.ai_position(SAGE, "Maybe", "Hmm", t.now, meta={})
    assert t.d.ai_due(t.now.replace(minute=29)) == []
    assert t.d.ai_due_at() == t.now.replace(minute=30)
    assert t.d.ai_due(t.now.replace(minute=30)) == ["Sage"]
    positions(t, (BEN, "No", "Thursdays"))
    # Open to all with a quorum of 3: two positions are not enough, whoever has joined.
    assert t.d.ai_due(t.now) == []
    assert t.d.members_awaited() == ([], 1)
    positions(t, (CAI, "Maybe", "Depends"))
    assert t.d.ai_due(t.now) == ["Sage"]
    t.do("ai_position", SAGE, "Either", "Both days have costs", meta={"model": "smollm2-135m"})
    assert t.d.ai_due(t.now) == []


def test_moderator_can_ask_the_ai_to_speak_early() -> None:
    t = Table()
    t.do("join", ADA, Role.PARTICIPANT)
    assert t.d.ai_due(t.now) == []
    t.do("request_ai", MOD)
    assert t.d.ai_due(t.now) == ["Sage"]
    with pytest.raises(errors.AlreadyRecorded):
        t.d.request_ai(MOD, t.now)


def test_opted_out_members_are_left_out_of_ai_material_and_counted() -> None:
    t = Table()
    positions(t, (ADA, "Yes", "Fridays"))
    t.do("set_ai_opt_out", BEN, True)
    positions(t, (BEN, "No", "Private reasons"))
    material, left_out = t.d.prompt_material()
    assert [c.text for c in material] == ["Fridays"]
    assert left_out == 1


# ---------------------------------------------------------------- objections, votes, consent


def test_objection_lifecycle_and_who_moves_it() -> None:
    t = Table()
    t.wait(11)
    t.advance()
    oid = t.do("object", ADA, "Fridays exclude parents", "School pickup")[-1].payload.id
    with pytest.raises(errors.PermissionDenied):
        t.d.move_objection(ADA, oid, ObjectionStatus.ADDRESSED, t.now)
    with pytest.raises(errors.NotYourContribution):
        t.d.move_objection(BEN, oid, ObjectionStatus.WITHDRAWN, t.now)
    t.do("move_objection", MOD, oid, ObjectionStatus.ADDRESSED, reason="Pickup is at three.")
    t.do("move_objection", ADA, oid, ObjectionStatus.OPEN)  # the author reopens
    assert t.d.objections[oid].status is ObjectionStatus.OPEN
    with pytest.raises(errors.InvalidTransition):
        t.d.move_objection(ADA, oid, ObjectionStatus.STANDING, t.now)
    second = t.do("object", BEN, "Venue closes early", "Friday hours")[-1].payload.id
    t.do("move_objection", BEN, second, ObjectionStatus.WITHDRAWN)
    record = compose_record_after_seal(t)
    assert t.d.objections[oid].status is ObjectionStatus.STANDING
    assert t.d.objections[second].status is ObjectionStatus.WITHDRAWN
    standing = record["standing_objections"]
    assert [(o["what"], o["why"]) for o in standing] == [("Fridays exclude parents", "School pickup")]


def test_votes_one_per_member_changeable_with_history() -> None:
    t = Table()
    (pid,) = positions(t, (ADA, "Yes", "Fridays"))
    t.do("vote", BEN, pid, Vote.AGREE)
    with pytest.raises(errors.AlreadyRecorded):
        t.d.vote(BEN, pid, Vote.AGREE, t.now)  # a double click changes nothing
    t.do("vote", BEN, pid, Vote.DISAGREE)
    t.do("vote", CAI, pid, Vote.PASS)
    assert t.d.tally(pid) == {Vote.AGREE: 0, Vote.DISAGREE: 1, Vote.PASS: 1}
    assert [v.vote for v in t.d.vote_history if v.member == BEN.key] == [Vote.AGREE, Vote.DISAGREE]


def test_a_block_needs_a_reason_and_opens_an_objection_lifted_when_changed() -> None:
    t = Table("quick")
    to_consent(t)
    with pytest.raises(errors.BlockNeedsReason):
        t.d.give_consent(ADA, ConsentChoice.BLOCK, t.now, reason="  ")
    t.do("give_consent", ADA, ConsentChoice.BLOCK, reason="Excludes parents")
    (block,) = t.d.objections.values()
    assert (block.from_block, block.why, block.status) == (True, "Excludes parents", ObjectionStatus.OPEN)
    with pytest.raises(errors.InvalidTransition):
        t.d.move_objection(ADA, block.id, ObjectionStatus.WITHDRAWN, t.now)
    t.do("give_consent", ADA, ConsentChoice.STAND_ASIDE)
    assert block.status is ObjectionStatus.WITHDRAWN


# ---------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("answers", "quorum", "kind"),
    [
        ([ConsentChoice.ENDORSE] * 3, 3, OutcomeKind.CONSENSUS),
        ([ConsentChoice.ENDORSE, ConsentChoice.RESERVATIONS, ConsentChoice.STAND_ASIDE], 3, OutcomeKind.CONSENT),
        ([ConsentChoice.ENDORSE, ConsentChoice.ENDORSE, ConsentChoice.BLOCK], 3, OutcomeKind.NO_CONSENSUS),
        ([ConsentChoice.ENDORSE] * 2, 3, OutcomeKind.NO_CONSENSUS),
    ],
)
def test_outcome_rules(answers: list[ConsentChoice], quorum: int, kind: OutcomeKind) -> None:
    assert decide_outcome(answers, quorum).kind is kind


def test_quorum_missed_is_said_plainly() -> None:
    outcome = decide_outcome([ConsentChoice.ENDORSE], 3)
    assert outcome.reason.startswith("Quorum missed: 1 of the 3")
    assert not outcome.quorum_met


def test_ai_stances_are_beside_the_outcome_never_in_it() -> None:
    t = Table("quick", quorum=2)
    positions(t, (ADA, "Yes", "Fridays"), (BEN, "Yes", "Fine"))
    t.do("ai_position", SAGE, "No", "Fridays are bad", meta={"model": "smollm2-135m"})
    to_consent(t)
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.do("give_consent", BEN, ConsentChoice.ENDORSE)
    record = compose_record_after_seal(t)
    assert record["outcome"]["kind"] == "consensus"
    assert record["tally"] == {"endorse": 2, "reservations": 0, "stand_aside": 0, "block": 0}
    assert record["ai_stances"] == [
        {
            "name": "Sage",
            "model": "smollm2-135m",
            "label": "AI participant · Sage · smollm2-135m · not authoritative",
            "stance": "No",
            "counted": False,
        }
    ]


# ---------------------------------------------------------------- the record


def test_record_quotes_dissent_verbatim_and_names_ai_authorship() -> None:
    t = Table(quorum=3)
    a, b, _c = positions(
        t, (ADA, "Yes", "Fridays free\nthe weekend."), (BEN, "No", "I work *late* on Fridays."), (CAI, "Yes", "Ok")
    )
    t.do("ai_position", SAGE, "Unsure", "Consider Thursdays.", meta={"model": "smollm2-135m"})
    t.wait(11)
    t.advance()
    t.do("vote", ADA, b, Vote.DISAGREE)
    t.do("vote", CAI, b, Vote.DISAGREE)
    t.do("object", BEN, "Excludes shift workers", "Half of us work Friday evenings.")
    t.wait(11)
    t.advance()
    draft = t.do("draft", SAGE, "Meet on Fridays; record sessions.", answers=[a, b], meta={"model": "smollm2-135m"})
    t.do("adopt", MOD, draft[-1].payload.id, amended_text="Meet on Fridays; record every session.")
    t.wait(11)
    t.advance()
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.do("give_consent", BEN, ConsentChoice.STAND_ASIDE, reason="I will watch recordings.")
    t.do("give_consent", CAI, ConsentChoice.RESERVATIONS, reason="Recording needs consent.")
    t.wait(11)
    t.advance()
    record = compose_record(t.d).to_dict()
    assert record["outcome"]["kind"] == "consent"
    proposal = record["proposal"]
    assert proposal["text"] == "Meet on Fridays; record every session."
    assert proposal["source"] == ProposalSource.AMENDED.value
    assert proposal["summary"] == (
        f"Draft #{proposal['draft_id']} by AI participant Sage (smollm2-135m), adopted with amendments by Mona."
    )
    assert [o["why"] for o in record["standing_objections"]] == ["Half of us work Friday evenings."]
    minority = {m["text"]: m["why_listed"] for m in record["minority_positions"]}
    assert minority["I work *late* on Fridays."] == ["its author answered: Stand aside", "2 disagreed, 0 agreed"]
    assert "Ok" in minority  # reservations count as not carried
    assert record["participation"]["spoke"] == ["Ada", "Ben", "Cai"]
    assert record["participation"]["silent"] == []  # the moderator facilitates; not absent
    assert [p["author"]["kind"] for p in record["positions"]] == ["human", "human", "human", "ai"]
    # Verbatim: the asterisks are shown, not taken as emphasis.
    assert "> I work \\*late\\* on Fridays." in render_markdown(record)


def test_anonymous_record_shows_aliases_only() -> None:
    t = Table("quick", anonymous=True, quorum=1)
    positions(t, (ADA, "Yes", "Fridays"), (BEN, "No", "Thursdays"))
    to_consent(t)
    t.do("give_consent", BEN, ConsentChoice.BLOCK, reason="Thursdays only")
    record = compose_record_after_seal(t)
    text = json.dumps(record)
    assert "Ada" not in text
    assert "Ben" not in text
    assert [p["author"]["name"] for p in record["positions"]] == ["Participant 1", "Participant 2"]
    assert record["standing_objections"][0]["author"] == "Participant 2"


def test_participation_figures() -> None:
    t = Table("quick", quorum=1)
    positions(t, (ADA, "Yes", "Fridays"))
    t.do("join", BEN, Role.PARTICIPANT)
    t.wait(15)
    t.advance()
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.wait(20)
    t.advance()
    part = compose_record(t.d).to_dict()["participation"]
    assert part["spoke"] == ["Ada"]
    assert part["silent"] == ["Ben"]  # Mona moderates: facilitating is not being absent
    assert [r["minutes"] for r in part["rounds"]] == [15.0, 20.0]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("stance", "text", "error"),
    [
        ("", "reason", errors.EmptyText),
        ("Yes", "   \n\t ", errors.EmptyText),
        ("Yes", "x" * (TEXT_MAX + 1), errors.TextTooLong),
        ("y" * 201, "reason", errors.TextTooLong),
    ],
)
def test_bad_text_is_refused_with_a_clear_message(stance: str, text: str, error: type[Exception]) -> None:
    t = Table()
    with pytest.raises(error) as info:
        t.d.state_position(ADA, stance, text, t.now)
    assert info.value.user_message  # type: ignore[attr-defined]
    assert t.d.positions() == []


def test_text_at_the_limit_is_accepted() -> None:
    t = Table()
    positions(t, (ADA, "Yes", "x" * TEXT_MAX))
    assert len(t.d.positions()[0].text) == TEXT_MAX


def test_unknown_ids_are_not_found() -> None:
    t = Table()
    with pytest.raises(errors.NotFound):
        t.d.vote(ADA, 42, Vote.AGREE, t.now)
    with pytest.raises(errors.NotFound):
        t.d.edit_contribution(ADA, 42, "x", t.now)


def test_votes_are_on_positions_only() -> None:
    t = Table()
    t.wait(11)
    t.advance()
    t.do("object", ADA, "x", "y")
    with pytest.raises(errors.NotFound):
        t.d.vote(BEN, 1, Vote.AGREE, t.now)  # #1 is an objection, not a contribution


def test_replaying_events_rebuilds_the_same_deliberation() -> None:
    t = Table()
    a, _ = positions(t, (ADA, "Yes", "Fridays"), (BEN, "No", "Thursdays"))
    t.do("edit_contribution", ADA, a, "Fridays, evenings")
    t.wait(11)
    t.advance()
    t.do("vote", BEN, a, Vote.AGREE)
    t.do("object", BEN, "x", "y")
    again = t.replayed()
    assert compose_record(again) == compose_record(t.d)
    assert again.contributions[a].history == t.d.contributions[a].history


def test_statements_are_added_in_the_dissent_round_and_voted_on() -> None:
    t = Table()
    with pytest.raises(errors.WrongRound, match="statements belong to the dissent round"):
        t.d.state_statement(ADA, "Evenings suit parents", t.now)
    t.wait(11)
    t.advance()
    sid = t.do("state_statement", ADA, "Evenings suit parents")[-1].payload.id
    with pytest.raises(errors.AlreadyRecorded):
        t.d.state_statement(BEN, "Evenings suit parents", t.now)
    t.do("vote", BEN, sid, Vote.AGREE)
    t.do("vote", CAI, sid, Vote.DISAGREE)
    assert [c.id for c in t.d.statements()] == [sid]
    record = compose_record_after_seal(t)
    (statement,) = record["other_contributions"]
    assert statement["votes"] == {"agree": 1, "disagree": 1, "pass": 0}


def test_the_moderator_moderates_statements_out_of_the_analysis() -> None:
    t = Table()
    t.wait(11)
    t.advance()
    sid = t.do("state_statement", ADA, "Buy my product at example.com")[-1].payload.id
    t.do("vote", BEN, sid, Vote.AGREE)
    with pytest.raises(errors.PermissionDenied):
        t.d.moderate(ADA, sid, True, t.now)
    t.do("moderate", MOD, sid, True)
    assert t.d.moderated_out == {sid}
    with pytest.raises(errors.InvalidValue, match="moderated out"):
        t.d.vote(CAI, sid, Vote.AGREE, t.now)
    with pytest.raises(errors.AlreadyRecorded):
        t.d.moderate(MOD, sid, True, t.now)
    record = compose_record_after_seal(t)
    assert record["other_contributions"][0]["moderated_out"] is True
    assert record["other_contributions"][0]["text"] == "Buy my product at example.com"


def test_closing_a_consent_round_early_on_silent_members_needs_a_confirmation_naming_it() -> None:
    t = Table("quick")
    t.do("state_position", ADA, "Support", "Yes.")
    t.do("state_position", BEN, "Oppose", "No.")
    t.wait(15)
    t.advance()  # positions -> consent
    consent_round = t.d.current
    t.wait(15)
    # A double click: each asks, neither closes anything.
    for _ in range(2):
        with pytest.raises(NeedsConfirmation) as asked:
            t.d.advance(MOD, t.now)
        assert asked.value.token == consent_round
        assert "0 of 2 member(s) answered (not yet: Ada, Ben)" in asked.value.user_message
    assert t.d.is_open
    # A confirmation for another round closes nothing.
    with pytest.raises(InvalidTransition):
        t.d.advance(MOD, t.now, confirmed=consent_round - 1)
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.do("give_consent", BEN, ConsentChoice.ENDORSE)
    # Everyone answered: nothing is skipped, nothing to confirm.
    events = t.d.advance(MOD, t.now)
    assert events[-1].kind is EventKind.SEALED


def test_the_deadline_closes_a_consent_round_without_asking() -> None:
    t = Table("quick")
    t.do("state_position", ADA, "Support", "Yes.")
    t.wait(61)
    t.do("advance", Actor.system("deadline"))
    t.wait(61)
    assert t.do("advance", Actor.system("deadline"))[-1].kind is EventKind.SEALED


def test_any_member_with_the_guilds_moderator_rights_runs_the_deliberation() -> None:
    t = Table("quick")
    other = Actor.human(200, "Grace")
    with pytest.raises(PermissionDenied):
        t.d.extend(other, 30, t.now)
    co_moderator = Actor.human(200, "Grace", moderates=True)
    assert co_moderator == other  # the rights are the moment's, never part of who acted
    joined, extended = t.do("extend", co_moderator, 30)
    assert extended.actor.key == "human:200"
    # Seated as a moderator the first time they run it: the record names them, no one counts them.
    assert joined.kind is EventKind.JOINED
    assert t.d.participants["human:200"].role is Role.MODERATOR
    assert t.d.participants["human:200"].alias == "Moderator"
    assert len(t.do("extend", co_moderator, 30)) == 1  # seated once
    # A member who takes part cannot also run it, whatever their rights.
    t.do("state_position", ADA, "Yes", "Fridays.")
    with pytest.raises(PermissionDenied, match="take part in this deliberation as participant"):
        t.d.extend(Actor.human(1, "Ada", moderates=True), 30, t.now)


def test_the_ai_waits_for_every_invited_member_and_everyone_who_joined() -> None:
    t = Table(quorum=1, round_minutes=60, invited=[ADA, BEN])
    positions(t, (ADA, "Yes", "Fridays"))
    # The quorum is met, but Ben was invited and has not spoken.
    assert t.d.ai_due(t.now) == []
    assert t.d.members_awaited() == ([BEN.key], 1)
    t.do("join", CAI, Role.PARTICIPANT)  # a late joiner is waited for too
    positions(t, (BEN, "No", "Thursdays"))
    assert t.d.ai_due(t.now) == []
    assert t.d.members_awaited() == ([CAI.key], 1)
    positions(t, (CAI, "Maybe", "Depends"))
    assert t.d.ai_due(t.now) == ["Sage"]


def test_an_invited_member_who_only_observes_is_not_waited_for_and_half_time_still_applies() -> None:
    t = Table(quorum=1, round_minutes=60, invited=[ADA, BEN])
    t.do("join", BEN, Role.OBSERVER)
    positions(t, (ADA, "Yes", "Fridays"))
    assert t.d.ai_due(t.now) == ["Sage"]
    silent = Table(round_minutes=60, invited=[ADA, BEN])
    assert silent.d.ai_due(silent.now.replace(minute=29)) == []
    assert silent.d.ai_due(silent.now.replace(minute=30)) == ["Sage"]  # no one spoke: half-time


def test_an_input_no_round_of_the_process_takes_is_refused_in_plain_words() -> None:
    t = Table("quick")
    with pytest.raises(errors.WrongRound) as refused:
        t.d.object(ADA, "Fridays", "Parents", t.now)
    assert refused.value.user_message == (
        "The quick process takes no objections. A block at the consent check, with its reason, is this "
        "process's objection."
    )


def test_invited_members_who_turn_observer_never_let_the_ai_speak_first() -> None:
    t = Table(quorum=2, round_minutes=60, invited=[ADA, BEN])
    t.do("join", ADA, Role.OBSERVER)
    t.do("join", BEN, Role.OBSERVER)
    t.wait(1)
    assert t.d.ai_due(t.now) == []  # nobody has spoken: the quorum still has to
    assert t.d.members_awaited() == ([], 2)


def test_control_characters_are_refused_in_plain_words() -> None:
    t = Table()
    with pytest.raises(errors.InvalidValue, match="control character"):
        t.d.state_position(ADA, "Yes", "abc\x00def", t.now)
