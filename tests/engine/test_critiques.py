"""Critiques and revisions in the engine: who may critique what and when, who revises, and replay.

A critique is a member's (or an AI participant's) reply to a draft; a revision is an AI
participant's new draft that answers the members' critiques of a draft, linked to it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.engine import Actor, AIParticipantSpec, ConsentChoice, ContributionKind, Event, Role, errors
from bot.engine.events import ContributionAdded, decode, encode
from bot.engine.replay import InvalidEvent, replay
from tests.engine import helpers
from tests.engine.helpers import ADA, BEN, MOD, OBS, SAGE, Table

META = {"model": "smollm2-135m", "claims": []}


def to_synthesis(t: Table) -> int:
    """Positions, then the synthesis round with one AI draft; the draft's id."""
    t.do("state_position", ADA, "Yes", "Fridays free the weekend.")
    t.do("state_position", BEN, "No", "I work late on Fridays.")
    t.wait(11)
    t.advance()
    t.wait(11)
    t.advance()
    t.do("draft", SAGE, "Meet on Fridays; record the sessions.", meta=dict(META))
    return max(t.d.contributions)


def test_a_member_critiques_a_draft_and_it_counts_as_taking_part() -> None:
    t = Table()
    t.do("join", helpers.CAI, Role.PARTICIPANT)
    draft = to_synthesis(t)
    assert not t.d.spoke(helpers.CAI.key)

    (added,) = t.do("critique", helpers.CAI, "  Recordings are not the same as being there.  ", draft)

    assert isinstance(added.payload, ContributionAdded)
    c = t.d.contributions[added.payload.id]
    assert (c.kind, c.reply_to, c.text) == (
        ContributionKind.CRITIQUE,
        draft,
        "Recordings are not the same as being there.",
    )
    assert t.d.spoke(helpers.CAI.key)
    assert [x.id for x in t.d.critiques_of(draft)] == [c.id]


def test_a_first_critique_joins_the_member() -> None:
    t = Table()
    draft = to_synthesis(t)
    dee = Actor.human(4, "Dee")
    _joined, added = t.do("critique", dee, "Too vague.", draft)
    assert t.d.participants[dee.key].role is Role.PARTICIPANT
    assert added.payload.reply_to == draft  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "refusal", "words"),
    [
        ("", errors.EmptyText, "The critique is empty."),
        ("\u200b\u2800 \u3164", errors.EmptyText, "The critique is empty."),
        ("x" * 4001, errors.TextTooLong, "4,001 characters"),
        ("a\x00b", errors.InvalidValue, "control character"),
        ("half an emoji \udfff", errors.InvalidValue, "cannot be stored"),
    ],
)
def test_bad_critique_text_is_refused_and_changes_nothing(text: str, refusal: type[Exception], words: str) -> None:
    t = Table()
    draft = to_synthesis(t)
    before = len(t.events)
    with pytest.raises(refusal) as raised:
        t.d.critique(ADA, text, draft, t.now)
    assert words in str(raised.value.user_message)  # type: ignore[attr-defined]
    assert len(t.events) == before
    assert t.d.critiques_of(draft) == []


def test_critiques_are_refused_to_observers_of_what_is_not_a_draft_in_the_wrong_round_and_once_sealed() -> None:
    t = Table()
    t.do("join", OBS, Role.OBSERVER)
    t.do("state_position", ADA, "Yes", "Fridays free the weekend.")
    position = max(t.d.contributions)
    with pytest.raises(errors.WrongRound, match="critiques belong to the synthesis round"):
        t.d.check_critique(ADA, position)
    t.do("state_position", BEN, "No", "I work late on Fridays.")
    t.wait(11)
    t.advance()
    t.wait(11)
    t.advance()
    t.do("draft", SAGE, "Meet on Fridays.", meta=dict(META))
    draft = max(t.d.contributions)

    with pytest.raises(errors.ObserverCannotAct, match="observing"):
        t.d.check_critique(OBS, draft)
    with pytest.raises(errors.ObserverCannotAct):
        t.d.critique(OBS, "No.", draft, t.now)
    with pytest.raises(errors.InvalidValue, match=f"#{position} is a position, not a draft"):
        t.d.critique(ADA, "No.", position, t.now)
    with pytest.raises(errors.NotFound, match="There is no draft #999 here to critique"):
        t.d.check_critique(ADA, 999)

    t.do("critique", ADA, "Too vague.", draft)
    with pytest.raises(errors.AlreadyRecorded, match="in these words already"):
        t.d.critique(ADA, "Too vague.", draft, t.now)

    t.wait(11)
    t.advance()  # consent: the synthesis round is over
    with pytest.raises(errors.WrongRound):
        t.d.critique(BEN, "Too late.", draft, t.now)
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.wait(61)
    t.advance()
    assert not t.d.is_open
    with pytest.raises(errors.DeliberationClosed):
        t.d.check_critique(ADA, draft)


def test_a_revision_needs_the_moderator_an_ai_and_a_members_critique() -> None:
    t = Table()
    draft = to_synthesis(t)
    with pytest.raises(errors.PermissionDenied, match="Only the moderator"):
        t.d.check_revision(ADA, draft)
    with pytest.raises(errors.InvalidValue, match=f"No member has critiqued draft #{draft} yet"):
        t.d.check_revision(MOD, draft)
    # An AI participant's critique is not a member's.
    t.do("critique", SAGE, "It leaves out shift workers.", draft, meta=dict(META))
    with pytest.raises(errors.InvalidValue, match="No member has critiqued"):
        t.d.check_revision(MOD, draft)
    with pytest.raises(errors.InvalidValue, match="No member has critiqued"):
        t.d.revise_draft(SAGE, "Meet on Fridays and Tuesdays.", draft, t.now, meta=dict(META))
    position = min(t.d.contributions)
    with pytest.raises(errors.InvalidValue, match="not a draft"):
        t.d.check_revision(MOD, position)

    t.do("critique", BEN, "Shift workers cannot come on Fridays.", draft)
    assert t.d.check_revision(MOD, draft) == ("Sage",)


def test_critiques_only_by_opted_out_members_cannot_be_revised_by_the_ai() -> None:
    t = Table()
    draft = to_synthesis(t)
    t.do("set_ai_opt_out", BEN, True)
    t.do("critique", BEN, "Shift workers cannot come.", draft)
    with pytest.raises(errors.InvalidValue, match="opted out of AI processing"):
        t.d.check_revision(MOD, draft)


def test_an_ai_revision_is_a_draft_linked_to_the_one_it_revises_once_per_critique() -> None:
    t = Table()
    draft = to_synthesis(t)
    t.do("critique", BEN, "Shift workers cannot come on Fridays.", draft)
    critique = max(t.d.contributions)

    (added,) = t.do(
        "revise_draft", SAGE, "Alternate Fridays and Tuesdays.", draft, answers=[critique, 999], meta=dict(META)
    )

    revision = t.d.contributions[added.payload.id]  # type: ignore[union-attr]
    assert (revision.kind, revision.revises, revision.answers) == (ContributionKind.DRAFT, draft, (critique,))
    assert revision.by_ai
    assert t.d.revisions_of(draft) == [revision]
    # Asked again with nothing new to answer: refused, for the moderator and for the AI.
    with pytest.raises(errors.AlreadyRecorded, match="revised since its last critique"):
        t.d.check_revision(MOD, draft)
    with pytest.raises(errors.AlreadyRecorded):
        t.d.revise_draft(SAGE, "Again.", draft, t.now, meta=dict(META))
    # A new critique makes it due again; a revision can itself be critiqued and revised.
    t.do("critique", ADA, "Tuesdays clash with choir.", draft)
    assert t.d.check_revision(MOD, draft) == ("Sage",)
    t.do("critique", ADA, "Still no Tuesdays, please.", revision.id)
    assert t.d.check_revision(MOD, revision.id) == ("Sage",)
    # Members never revise (they critique; the moderator writes proposals).
    with pytest.raises(errors.PermissionDenied, match="Only AI participants revise"):
        t.d.revise_draft(ADA, "Mine.", draft, t.now)

    assert replay(t.d.id, t.d.guild_id, t.events).contributions[revision.id].revises == draft
    assert t.replayed().revisions_of(draft) == [revision]


def test_each_ai_seat_revises_once_and_a_failed_one_can_be_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers, "SEATS", [*helpers.SEATS, AIParticipantSpec("Owl", "tiny", "embedded")])
    t = Table()
    draft = to_synthesis(t)
    t.do("critique", BEN, "Shift workers cannot come.", draft)
    assert t.d.check_revision(MOD, draft) == ("Sage", "Owl")
    t.do("revise_draft", SAGE, "Alternate days.", draft, meta=dict(META))
    # Owl failed (its answer did not pass the gate): only Owl is asked again.
    assert t.d.check_revision(MOD, draft) == ("Owl",)


def test_the_stored_bytes_of_a_contribution_without_lineage_are_unchanged() -> None:
    plain = ContributionAdded(3, ContributionKind.DRAFT, "Meet on Fridays.", 2)
    assert encode(plain) == {"id": 3, "kind": "draft", "text": "Meet on Fridays.", "round": 2}
    revised = replace(plain, revises=1)
    assert encode(revised)["revises"] == 1
    assert decode("contribution.added", encode(revised)) == revised


def test_replay_refuses_forged_lineage() -> None:
    t = Table()
    draft = to_synthesis(t)
    position = min(t.d.contributions)
    uncritiqued = ContributionAdded(t.d.next_id, ContributionKind.DRAFT, "New.", 2, revises=draft)
    with pytest.raises(InvalidEvent, match="No member has critiqued"):
        replay(t.d.id, t.d.guild_id, [*t.events, Event(SAGE, t.now, uncritiqued)])
    t.do("critique", BEN, "Shift workers cannot come.", draft)
    n = t.d.next_id
    cases = [
        (ADA, ContributionAdded(n, ContributionKind.CRITIQUE, "No.", 2, reply_to=position), "not a draft"),
        (ADA, ContributionAdded(n, ContributionKind.CRITIQUE, "No.", 2), "not a draft"),
        (ADA, ContributionAdded(n, ContributionKind.DRAFT, "Mine.", 2, revises=draft), "Only AI participants revise"),
        (SAGE, ContributionAdded(n, ContributionKind.DRAFT, "New.", 2, revises=position), "not a draft"),
        (
            ADA,
            ContributionAdded(n, ContributionKind.CRITIQUE, "No.", 2, reply_to=draft, revises=draft),
            "revises nothing",
        ),
    ]
    for actor, payload, words in cases:
        with pytest.raises(InvalidEvent, match=words):
            replay(t.d.id, t.d.guild_id, [*t.events, Event(actor, t.now, payload)])
    # The genuine article replays.
    t.do("revise_draft", SAGE, "Alternate days.", draft, meta=dict(META))
    assert replay(t.d.id, t.d.guild_id, t.events).revisions_of(draft)
