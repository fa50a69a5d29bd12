"""Issue 11, item 4 and the small defects: an objection is marked addressed only with a reason,
every status change is in the record with who and why, responses are quoted under what they
answer, members do not vote on their own words, times read to the minute, the moderator is not
absent, and a draft whose text was replaced is credited to whoever replaced it."""

from __future__ import annotations

import json

import pytest

from bot.engine import ConsentChoice, ObjectionStatus, Role, Vote, errors
from bot.engine.events import ObjectionMoved, decode, encode, owed_posts
from bot.engine.overlap import REPLACED_BELOW, kept_share, replaced
from bot.engine.record import authorship, compose_record, minute, render_markdown
from bot.engine.replay import InvalidEvent, replay
from tests.engine.helpers import ADA, BEN, CAI, MOD, OBS, SAGE, Table
from tests.engine.record_scenes import added


def _dissent(**settings: object) -> Table:
    t = Table("consent", quorum=2, **settings)
    t.do("state_position", ADA, "Yes", "Fridays suit more people.")
    t.wait(11)
    t.advance()
    return t


def _seal(t: Table) -> None:
    while t.d.is_open:
        t.wait(11)
        t.advance()


# ---------------------------------------------------------------- addressed only with a reason


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "\u200b"])
def test_marking_addressed_without_a_reason_is_refused_and_changes_nothing(reason: str) -> None:
    t = _dissent()
    oid = added(t, "object", BEN, "No room", "The hall is booked.")
    before = len(t.events)
    with pytest.raises((errors.InvalidValue, errors.EmptyText)) as refused:
        t.d.move_objection(MOD, oid, ObjectionStatus.ADDRESSED, t.now, reason=reason)
    assert "why" in refused.value.user_message.lower() or "empty" in refused.value.user_message.lower()
    assert len(t.events) == before
    assert t.d.objections[oid].status is ObjectionStatus.OPEN


def test_only_the_moderator_marks_addressed_even_with_a_reason() -> None:
    t = _dissent()
    oid = added(t, "object", BEN, "No room", "The hall is booked.")
    for member in (ADA, BEN, OBS):
        with pytest.raises((errors.PermissionDenied, errors.ObserverCannotAct)):
            t.d.move_objection(member, oid, ObjectionStatus.ADDRESSED, t.now, reason="Sorted.")
    with pytest.raises(errors.NotForAI):
        t.d.move_objection(SAGE, oid, ObjectionStatus.ADDRESSED, t.now, reason="Sorted.")
    # The check a form runs before it opens refuses the same members, and lets the moderator through.
    with pytest.raises(errors.PermissionDenied):
        t.d.check_move(ADA, oid, ObjectionStatus.ADDRESSED)
    t.d.check_move(MOD, oid, ObjectionStatus.ADDRESSED)
    assert t.d.objections[oid].status is ObjectionStatus.OPEN


def test_the_reason_is_stored_verbatim_and_the_author_reopens_with_their_own() -> None:
    t = _dissent()
    oid = added(t, "object", BEN, "No room", "The hall is booked.")
    (moved,) = t.do("move_objection", MOD, oid, ObjectionStatus.ADDRESSED, reason="  The library room is free.  ")
    assert moved.payload == ObjectionMoved(oid, ObjectionStatus.ADDRESSED, "The library room is free.")
    # Only its author reopens it, saying why if they like.
    with pytest.raises(errors.NotYourContribution):
        t.d.move_objection(ADA, oid, ObjectionStatus.OPEN, t.now, reason="I disagree.")
    t.do("move_objection", BEN, oid, ObjectionStatus.OPEN, reason="The library closes at six.")
    history = t.d.objections[oid].history
    assert [(h.status, h.by, h.reason) for h in history] == [
        (ObjectionStatus.OPEN, BEN.key, ""),
        (ObjectionStatus.ADDRESSED, MOD.key, "The library room is free."),
        (ObjectionStatus.OPEN, BEN.key, "The library closes at six."),
    ]
    # Replaying the events rebuilds the same history; verify's replay accepts them.
    assert t.replayed().objections[oid].history == history
    assert replay(1, 77, t.events).objections[oid].history == history


def test_a_reason_is_left_out_of_the_stored_bytes_when_there_is_none() -> None:
    # Earlier releases wrote {"id", "status"}: such an event keeps its bytes (and so its hash).
    old = {"id": 3, "status": "withdrawn"}
    assert encode(decode("objection.moved", old)) == old
    new = encode(ObjectionMoved(3, ObjectionStatus.ADDRESSED, "Answered in the draft."))
    assert new == {"id": 3, "status": "addressed", "reason": "Answered in the draft."}
    assert decode("objection.moved", new) == ObjectionMoved(3, ObjectionStatus.ADDRESSED, "Answered in the draft.")


def test_an_addressed_objection_owes_its_author_a_note_with_the_reason() -> None:
    t = _dissent()
    oid = added(t, "object", BEN, "No room", "The hall is booked.")
    events = t.do("move_objection", MOD, oid, ObjectionStatus.ADDRESSED, reason="Booked the library.")
    assert owed_posts(events) == [f"addressed:{oid}:{t.now.isoformat()}"]
    # Reopening or withdrawing owes nothing new (the post is refreshed in place).
    assert owed_posts(t.do("move_objection", BEN, oid, ObjectionStatus.OPEN)) == []


def test_verify_accepts_an_addressed_move_an_earlier_release_wrote_without_a_reason() -> None:
    t = _dissent()
    oid = added(t, "object", BEN, "No room", "The hall is booked.")
    legacy = t.d.move_objection(MOD, oid, ObjectionStatus.ADDRESSED, t.now, reason="x")[-1]
    from dataclasses import replace as copy

    events = [*t.events, copy(legacy, payload=ObjectionMoved(oid, ObjectionStatus.ADDRESSED))]
    assert replay(1, 77, events).objections[oid].status is ObjectionStatus.ADDRESSED
    # ... but not one a member who does not moderate wrote, with or without a reason.
    for payload in (
        ObjectionMoved(oid, ObjectionStatus.ADDRESSED),
        ObjectionMoved(oid, ObjectionStatus.ADDRESSED, "x"),
    ):
        forged = copy(legacy, actor=ADA, payload=payload)
        with pytest.raises(InvalidEvent, match="Only the moderator"):
            replay(1, 77, [*t.events, forged])
    # Nor a reason no form could have sent (over the limit).
    long = copy(legacy, payload=ObjectionMoved(oid, ObjectionStatus.ADDRESSED, "x" * 1001))
    with pytest.raises(InvalidEvent, match="limit"):
        replay(1, 77, [*t.events, long])


# ---------------------------------------------------------------- every status change in the record


def _eventful(*, anonymous: bool = False) -> Table:
    """Objections through every status: addressed with a reason and reopened, withdrawn, a block
    lifted by a new answer, a block and an objection left standing at sealing."""
    t = _dissent(anonymous=anonymous)
    t.do("join", CAI, Role.PARTICIPANT)
    room = added(t, "object", BEN, "No room", "The hall is booked.")
    t.wait(1)
    t.do("move_objection", MOD, room, ObjectionStatus.ADDRESSED, reason="The library is free on Fridays.")
    t.wait(1)
    t.do("move_objection", BEN, room, ObjectionStatus.OPEN, reason="It closes at six.")
    early = added(t, "object", ADA, "Too early", "Start at seven.")
    t.do("move_objection", ADA, early, ObjectionStatus.WITHDRAWN, reason="Seven is fine after all.")
    t.wait(11)
    t.advance()
    t.do("propose", MOD, "Meet on Fridays at seven in the library.")
    t.wait(11)
    t.advance()
    t.do("give_consent", CAI, ConsentChoice.BLOCK, reason="Parents cannot come.")
    t.wait(1)
    t.do("give_consent", CAI, ConsentChoice.STAND_ASIDE, reason="I will read the notes.")
    t.do("give_consent", BEN, ConsentChoice.BLOCK, reason="Still no room after six.")
    _seal(t)
    return t


def test_the_record_lists_every_status_change_with_who_when_and_why_in_order() -> None:
    t = _eventful()
    data = compose_record(t.d).to_dict()
    history = {
        o["id"]: [(s["status"], s["by"], s.get("reason"), s.get("note")) for s in o["history"]]
        for o in data["objections"]
    }
    room, early, lifted, block = sorted(history)
    assert history[room] == [
        ("raised", "Ben", None, None),
        ("addressed", "Mona", "The library is free on Fridays.", None),
        ("reopened", "Ben", "It closes at six.", None),
        ("standing", "Mona", None, None),
    ]
    assert history[early] == [("raised", "Ada", None, None), ("withdrawn", "Ada", "Seven is fine after all.", None)]
    assert history[lifted] == [
        ("raised", "Cai", None, "a block at the consent check"),
        ("lifted", "Cai", "I will read the notes.", "its author changed their answer to Stand aside"),
    ]
    assert history[block] == [("raised", "Ben", None, "a block at the consent check"), ("standing", "Mona", None, None)]
    # Times are stored in full in the JSON; every step has one.
    steps = [s for o in data["objections"] for s in o["history"]]
    assert all(s["at"].startswith("2026-03-01T") for s in steps)

    markdown = render_markdown(compose_record(t.d))
    section = markdown[markdown.index(f"### #{room} objection") : markdown.index(f"### #{early} objection")]
    assert (
        section.index("Raised by Ben, 2026-03-01 12:11 UTC.")
        < section.index("Marked addressed by Mona, 2026-03-01 12:12 UTC. Why:\n\n> The library is free on Fridays.\n")
        < section.index("Reopened by Ben, 2026-03-01 12:13 UTC. Why:\n\n> It closes at six.\n")
        < section.index("Left standing when the record was sealed by Mona, 2026-03-01 12:47 UTC.")
    )
    assert (
        "Lifted by Cai, 2026-03-01 12:36 UTC (its author changed their answer to Stand aside). Why:\n\n"
        "> I will read the notes.\n"
    ) in markdown


def test_a_deadline_that_seals_is_named_as_what_it_is() -> None:
    t = _dissent()
    added(t, "object", BEN, "No room", "The hall is booked.")
    from bot.engine import Actor

    while t.d.is_open:
        t.wait(61)
        t.do("advance", Actor.system("deadline"))
    (objection,) = compose_record(t.d).objections
    assert objection.history is not None
    assert (objection.history[-1].status, objection.history[-1].by) == ("standing", "the deadline")


def test_an_anonymous_record_names_who_moved_an_objection_by_alias_only() -> None:
    t = _eventful(anonymous=True)
    record = compose_record(t.d)
    names = {s.by for o in record.objections for s in o.history or ()}
    assert names == {"Moderator", "Participant 1", "Participant 2", "Participant 3"}
    text = json.dumps(record.to_dict()) + render_markdown(record)
    for real in ("Mona", "Ada", "Ben", "Cai"):
        assert real not in text


# ---------------------------------------------------------------- responses under what they answer


def test_responses_are_quoted_under_what_they_answer_in_json_and_markdown() -> None:
    t = _dissent()
    position = t.d.position_of(ADA.key)
    assert position is not None
    objection = added(t, "object", BEN, "No room", "The hall is booked.")
    statement = added(t, "state_statement", CAI, "Evenings suit most of us.")
    to_position = added(t, "respond", BEN, "Not for shift workers.", position.id)
    to_response = added(t, "respond", ADA, "Shifts rotate, though.", to_position)
    to_objection = added(t, "respond", ADA, "The library is free.", objection)
    to_statement = added(t, "respond", BEN, "Mornings suit me.", statement)
    _seal(t)
    record = compose_record(t.d)
    data = record.to_dict()

    (pos,) = data["positions"]
    assert pos["responses"] == [
        {"id": to_position, "author": {"kind": "human", "name": "Ben"}, "text": "Not for shift workers."}
    ]
    others = {c["id"]: c for c in data["other_contributions"]}
    assert [r["text"] for r in others[to_position]["responses"]] == ["Shifts rotate, though."]
    assert [r["text"] for r in others[statement]["responses"]] == ["Mornings suit me."]
    assert "responses" not in others[to_statement]  # nothing answers it: no empty list
    (obj,) = data["objections"]
    assert [r["text"] for r in obj["responses"]] == ["The library is free."]

    markdown = render_markdown(record)
    assert (
        "Agree 0, disagree 0, pass 0\n\n"
        f"Response #{to_position} by Ben:\n\n> Not for shift workers.\n\n"
        f"Response #{to_response} to #{to_position} by Ada:\n\n> Shifts rotate, though.\n\n## "
    ) in markdown
    assert (
        "> The hall is booked.\n\nRaised by Ben, 2026-03-01 12:11 UTC.\n\n"
        "Left standing when the record was sealed by Mona, 2026-03-01 12:44 UTC.\n\n"
        f"Response #{to_objection} by Ada:\n\n> The library is free.\n"
    ) in markdown
    assert f"Agree 0, disagree 0, pass 0\n\nResponse #{to_statement} by Ben:\n\n> Mornings suit me.\n" in markdown
    # Each response is quoted once, under what it answers, not again in a list of its own.
    for text in ("Not for shift workers.", "Shifts rotate, though.", "The library is free.", "Mornings suit me."):
        assert markdown.count(text) == 1


def test_a_long_chain_of_replies_renders_without_recursion() -> None:
    t = _dissent()
    position = t.d.position_of(ADA.key)
    assert position is not None
    target = position.id
    for i in range(1200):  # deeper than Python's recursion limit
        target = added(t, "respond", BEN if i % 2 else ADA, f"Reply {i}", target)
    _seal(t)
    markdown = render_markdown(compose_record(t.d))
    assert markdown.count("> Reply ") == 1200
    assert markdown.index("> Reply 0\n") < markdown.index("> Reply 1199\n")


# ---------------------------------------------------------------- members do not vote on their own words


def test_a_member_cannot_vote_on_their_own_position_or_statement() -> None:
    t = _dissent()
    position = t.d.position_of(ADA.key)
    assert position is not None
    statement = added(t, "state_statement", BEN, "Evenings suit most of us.")
    before = len(t.events)
    for member, own in ((ADA, position.id), (BEN, statement)):
        for vote in Vote:
            with pytest.raises(errors.InvalidValue, match="your own"):
                t.d.vote(member, own, vote, t.now)
    assert len(t.events) == before
    assert t.d.tally(position.id) == dict.fromkeys(Vote, 0)
    # Everyone else votes as before.
    t.do("vote", BEN, position.id, Vote.AGREE)
    t.do("vote", ADA, statement, Vote.DISAGREE)
    assert t.d.tally(position.id)[Vote.AGREE] == 1
    # A Polis conversation brought in keeps the votes its authors cast on their own comments there.
    t.do("vote", BEN, statement, Vote.AGREE, imported=True)
    assert t.d.tally(statement)[Vote.AGREE] == 1


# ---------------------------------------------------------------- readable times, the moderator not absent


def test_times_read_to_the_minute_with_their_zone() -> None:
    assert minute("2026-03-01T12:34:56.789012+00:00") == "2026-03-01 12:34 UTC"
    assert minute("2026-03-01T12:34:56+02:00") == "2026-03-01 12:34 UTC+02:00"
    assert minute(None) == "-"
    t = _dissent()
    t.wait(0.123456)  # seconds and microseconds the stored times keep
    _seal(t)
    markdown = render_markdown(compose_record(t.d))
    assert "- Opened 2026-03-01 12:00 UTC, closed 2026-03-01 12:44 UTC\n" in markdown
    assert ".1" not in markdown.split("\n")[4]


def test_the_facilitating_moderator_is_not_listed_as_absent() -> None:
    t = _dissent()
    t.do("join", BEN, Role.PARTICIPANT)
    _seal(t)
    participation = compose_record(t.d).participation
    assert participation.silent == ("Ben",)
    assert "Mona" not in participation.silent
    assert "- Did not take part: Ben\n" in render_markdown(compose_record(t.d))


# ---------------------------------------------------------------- amended or replaced


def _adopted(amended: str) -> Table:
    t = _dissent()
    t.wait(11)
    t.advance()
    draft = added(t, "draft", SAGE, "Meet on Fridays at seven in the library; record every session.")
    t.do("adopt", MOD, draft, amended_text=amended)
    return t


def test_a_draft_amended_a_little_is_credited_as_adopted_with_amendments() -> None:
    t = _adopted("Meet on Fridays at half past seven in the library; record every session.")
    assert authorship(t.d).endswith("adopted with amendments by Mona.")
    _seal(t)
    proposal = compose_record(t.d).proposal
    assert proposal is not None
    assert proposal.source == "amended"


def test_a_draft_whose_text_was_replaced_is_credited_to_who_replaced_it() -> None:
    t = _adopted("Keep Thursdays and rent a bigger hall.")
    assert authorship(t.d) == (
        f"Written by Mona, replacing draft #{t.d.proposal.draft_id} by AI participant Sage (smollm2-135m): "  # type: ignore[union-attr]
        "less than a third of the draft's words remain."
    )
    _seal(t)
    record = compose_record(t.d)
    assert record.proposal is not None
    assert record.proposal.source == "replaced"
    assert record.proposal.draft_text == "Meet on Fridays at seven in the library; record every session."
    assert "replacing draft" in render_markdown(record)


def test_the_threshold_is_a_third_of_the_drafts_words() -> None:
    draft = "one two three four five six"  # six words: two is exactly a third
    assert kept_share(draft, "one two seven eight") == pytest.approx(REPLACED_BELOW)
    assert not replaced(draft, "one two seven eight")  # a third kept: amended
    assert replaced(draft, "one seven eight nine")  # a sixth kept: replaced
    # Case and order do not matter; repeats count only as often as they remain.
    assert kept_share("We meet. We eat.", "eat meet we") == pytest.approx(3 / 4)
    assert kept_share("", "anything") == 1.0  # no words to replace


def test_a_block_marked_addressed_still_counts_until_its_member_changes_their_answer() -> None:
    t = Table("quick", quorum=2)
    for who in (ADA, BEN, CAI):
        t.do("state_position", who, "Yes", f"{who.name} agrees.")
    t.wait(11)
    t.advance()  # consent
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.do("give_consent", BEN, ConsentChoice.ENDORSE)
    block = t.do("give_consent", CAI, ConsentChoice.BLOCK, reason="Fridays shut out shift workers.")[-1].payload.id
    t.do("move_objection", MOD, block, ObjectionStatus.ADDRESSED, reason="We add a Saturday session.")
    t.wait(11)
    t.advance()  # sealed

    record = compose_record(t.d)
    assert record.outcome.kind == "no_consensus"
    # The record does not say both "stands" and "no longer standing" without saying why.
    assert f"Block #{block} was marked addressed, but its member's answer is still Block." in record.outcome.reason
