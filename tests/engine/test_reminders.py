"""Reminders: a member's own switch, stored as an event and kept on replay."""

from __future__ import annotations

import pytest

from bot.engine import EventKind, Role
from bot.engine.errors import AlreadyRecorded, DeliberationClosed, NotForAI, WrongRound
from tests.engine.helpers import ADA, BEN, MOD, OBS, SAGE, Table


def test_a_member_turns_reminders_on_and_off_and_replay_keeps_it() -> None:
    t = Table()
    events = t.do("set_reminders", ADA, True)
    # Ada had not joined: she joins as a participant, then her reminders are on.
    assert [e.kind for e in events] == [EventKind.JOINED, EventKind.REMINDERS]
    assert [p.key for p in t.d.reminded()] == [ADA.key]
    t.do("set_reminders", BEN, True)
    t.do("set_reminders", ADA, False)
    assert [p.key for p in t.replayed().reminded()] == [BEN.key]


def test_an_observer_keeps_their_role_when_asking_for_reminders() -> None:
    t = Table()
    t.do("join", OBS, Role.OBSERVER)
    t.do("set_reminders", OBS, True)
    assert t.d.participants[OBS.key].role is Role.OBSERVER
    assert t.d.participants[OBS.key].reminders


def test_the_same_switch_twice_is_refused_and_records_nothing() -> None:
    t = Table()
    t.do("set_reminders", MOD, True)
    with pytest.raises(AlreadyRecorded):
        t.d.set_reminders(MOD, True, t.now)
    t.do("join", ADA, Role.PARTICIPANT)
    with pytest.raises(AlreadyRecorded):
        t.d.set_reminders(ADA, False, t.now)  # off is the default
    assert t.d.events_applied == len(t.events)


def test_ai_participants_get_no_reminders_and_a_closed_deliberation_takes_none() -> None:
    t = Table()
    with pytest.raises(NotForAI):
        t.d.set_reminders(SAGE, True, t.now)
    t.do("cancel", MOD, "Postponed")
    with pytest.raises(DeliberationClosed):
        t.d.set_reminders(ADA, True, t.now)


def test_check_accepts_refuses_as_the_action_would_and_records_nothing() -> None:
    t = Table()
    t.d.check_accepts("position")  # the positions round takes positions
    with pytest.raises(WrongRound) as refused:
        t.d.check_accepts("objection")
    with pytest.raises(WrongRound) as acted:
        t.d.object(ADA, "x", "y", t.now)
    assert refused.value.user_message == acted.value.user_message
    with pytest.raises(WrongRound, match="consent responses belong to the consent round"):
        t.d.check_accepts("consent")
    t.do("cancel", MOD, "Postponed")
    with pytest.raises(DeliberationClosed):
        t.d.check_accepts("position")
