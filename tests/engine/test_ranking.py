"""Ranked drafts in the engine: who may rank, what a ballot may say, when it counts, what the record keeps."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import Actor, Role, RoundKind, compose_record, errors, render_markdown
from bot.engine.events import BallotCast, Event, EventKind, RankingClosed
from bot.engine.record import Record, record_json
from bot.engine.replay import InvalidEvent, replay
from tests.engine.helpers import ADA, BEN, CAI, MOD, OBS, SAGE, Table


def at_synthesis(t: Table, *, drafts: int = 3) -> list[int]:
    """Three members state positions; the table reaches the synthesis round with `drafts` drafts."""
    for who, stance in ((ADA, "Yes"), (BEN, "No"), (CAI, "Maybe")):
        t.do("state_position", who, stance, f"I say {stance.lower()}")
    while t.d.round.kind is not RoundKind.SYNTHESIS:
        t.wait(11)
        t.advance()
    ids = []
    for n in range(drafts):
        author = SAGE if n % 2 == 0 else ADA
        meta = {"model": "smollm2-135m"} if author is SAGE else None
        ids.append(t.do("draft", author, f"Draft text {n}: meet on day {n}.", meta=meta)[-1].payload.id)
    return ids


def opened(t: Table, *, drafts: int = 3) -> list[int]:
    ids = at_synthesis(t, drafts=drafts)
    t.do("open_ranking", MOD)
    return ids


# ---------------------------------------------------------------- opening


def test_only_the_moderator_opens_a_ranking_in_the_synthesis_round_with_two_or_more_drafts() -> None:
    t = Table()
    with pytest.raises(errors.WrongRound, match="synthesis round"):
        t.d.open_ranking(MOD, t.now)
    ids = at_synthesis(t, drafts=1)
    with pytest.raises(errors.InvalidValue, match="two or more drafts"):
        t.d.open_ranking(MOD, t.now)
    ids.append(t.do("draft", BEN, "Meet on Saturdays.")[-1].payload.id)
    with pytest.raises(errors.PermissionDenied):
        t.d.open_ranking(ADA, t.now)
    with pytest.raises(errors.NotForAI):
        t.d.open_ranking(SAGE, t.now)
    (event,) = t.do("open_ranking", MOD)
    assert event.kind is EventKind.RANKING_OPENED
    assert event.payload.drafts == tuple(ids)
    assert t.d.open_ranking_now() is not None
    with pytest.raises(errors.AlreadyRecorded, match="open already"):
        t.d.open_ranking(MOD, t.now)


def test_a_template_without_a_synthesis_round_says_so() -> None:
    t = Table("quick")
    with pytest.raises(errors.WrongRound, match="no synthesis round"):
        t.d.open_ranking(MOD, t.now)


def test_the_moderator_may_name_which_drafts_are_ranked_but_only_standing_ones() -> None:
    t = Table()
    ids = at_synthesis(t, drafts=3)
    with pytest.raises(errors.NotFound, match="#999"):
        t.d.open_ranking(MOD, t.now, drafts=[ids[0], 999])
    pid = t.d.positions()[0].id
    with pytest.raises(errors.NotFound):
        t.d.open_ranking(MOD, t.now, drafts=[ids[0], pid])  # a position is not a draft
    with pytest.raises(errors.InvalidValue, match="twice"):
        t.d.open_ranking(MOD, t.now, drafts=[ids[0], ids[0]])
    (event,) = t.do("open_ranking", MOD, drafts=[ids[2], ids[0]])
    assert event.payload.drafts == (ids[0], ids[2])  # in their numbers' order, whatever order named


def test_too_many_drafts_must_be_narrowed() -> None:
    t = Table()
    at_synthesis(t, drafts=11)
    with pytest.raises(errors.InvalidValue, match="at most 10"):
        t.d.open_ranking(MOD, t.now)


# ---------------------------------------------------------------- ballots


def test_ai_participants_and_observers_never_rank() -> None:
    t = Table()
    t.do("join", OBS, Role.OBSERVER)
    ids = opened(t)
    with pytest.raises(errors.NotForAI, match="never rank"):
        t.d.rank(SAGE, ids, t.now)
    with pytest.raises(errors.ObserverCannotAct, match="observing"):
        t.d.rank(OBS, ids, t.now)
    with pytest.raises(errors.PermissionDenied):
        t.d.rank(Actor.system("deadline"), ids, t.now)
    assert t.d.open_ranking_now().ballots == {}


def test_a_ballot_is_changeable_and_the_latest_counts() -> None:
    t = Table()
    a, b, c = opened(t)
    t.do("rank", ADA, [a, b, c])
    t.do("rank", BEN, [a, c, b])
    ranking = t.d.open_ranking_now()
    assert ranking.result().winners == (a,)
    t.do("rank", ADA, [c, b, a])
    t.do("rank", BEN, [c, a, b])
    assert ranking.ballots == {ADA.key: (c, b, a), BEN.key: (c, a, b)}
    assert ranking.result().winners == (c,)
    assert ranking.result().ballots == 2  # members, not ballots cast
    assert ranking.changes == 2
    with pytest.raises(errors.AlreadyRecorded):
        t.d.rank(BEN, [c, a, b], t.now)


def test_a_member_who_had_not_joined_joins_by_ranking_and_it_counts_as_taking_part() -> None:
    t = Table()
    _a, b, _ = opened(t)
    dee = Actor.human(4, "Dee")
    events = t.do("rank", dee, [b])
    assert [e.kind for e in events] == [EventKind.JOINED, EventKind.BALLOT_CAST]
    assert t.d.spoke(dee.key)


def test_a_ballot_names_only_the_rankings_drafts_each_once() -> None:
    t = Table()
    a, _b, _c = opened(t)
    late = t.do("draft", BEN, "A late draft.")[-1].payload.id
    pid = t.d.positions()[0].id
    for bad, error, words in [
        ([], errors.InvalidValue, "at least one"),
        ([a, a], errors.InvalidValue, "twice"),
        ([a, 999], errors.NotFound, "#999 is not in ranking #1"),
        ([late], errors.NotFound, f"#{late} is not in ranking #1"),  # added after the ranking opened
        ([pid, a], errors.NotFound, "is not in ranking"),
    ]:
        with pytest.raises(error, match=words):
            t.d.rank(ADA, bad, t.now)
    assert t.d.open_ranking_now().ballots == {}


def test_a_prefix_ballot_ranks_the_rest_below_and_all_but_one_is_complete() -> None:
    t = Table()
    a, b, c = opened(t)
    (first,) = t.do("rank", ADA, [b])
    assert first.payload.order == (b,)
    (full,) = t.do("rank", BEN, [c, a])
    assert full.payload.order == (c, a, b)  # the one left is last: stored complete
    result = t.d.open_ranking_now().result()
    assert result.prefer(b, a) == 1
    assert result.prefer(a, b) == 1
    assert result.prefer(b, c) == 1
    assert result.prefer(c, b) == 1


def test_a_closed_ranking_takes_no_ballots_and_says_so() -> None:
    t = Table()
    a, b, _ = opened(t)
    t.do("rank", ADA, [a, b])
    with pytest.raises(errors.PermissionDenied):
        t.d.close_ranking(ADA, t.now)
    (closed,) = t.do("close_ranking", MOD)
    assert closed.kind is EventKind.RANKING_CLOSED
    with pytest.raises(errors.RankingNotOpen, match="No ranking of drafts is open"):
        t.d.rank(BEN, [b, a], t.now)
    with pytest.raises(errors.RankingNotOpen, match="Ranking #1 is closed"):
        t.d.rank(BEN, [b, a], t.now, ranking=1)
    with pytest.raises(errors.NotFound, match="no ranking #7"):
        t.d.rank(BEN, [b, a], t.now, ranking=7)
    with pytest.raises(errors.RankingNotOpen):
        t.d.close_ranking(MOD, t.now)
    # A new ranking over the same drafts counts from nothing; the first keeps its count.
    t.do("open_ranking", MOD)
    t.do("rank", BEN, [b, a], ranking=2)
    assert t.d.ranking(1).ballots == {ADA.key: (a, b, *[i for i in t.d.ranking(1).drafts if i not in (a, b)])}
    assert list(t.d.ranking(2).ballots) == [BEN.key]


def test_closing_the_synthesis_round_closes_its_ranking_first() -> None:
    t = Table()
    a, b, _ = opened(t)
    t.do("rank", ADA, [a])
    t.wait(11)
    events = t.advance()
    kinds = [e.kind for e in events]
    assert kinds.index(EventKind.RANKING_CLOSED) < kinds.index(EventKind.ROUND_CLOSED)
    assert not t.d.ranking(1).is_open
    with pytest.raises(errors.RankingNotOpen):
        t.d.rank(BEN, [b], t.now, ranking=1)


def test_the_deadline_closes_the_ranking_with_its_round() -> None:
    t = Table()
    opened(t)
    t.wait(61)
    events = t.do("advance", Actor.system("deadline"))
    assert events[0].kind is EventKind.RANKING_CLOSED
    assert events[0].actor.kind.value == "system"
    assert replay(1, 77, t.events).ranking(1).closed_by == "system:deadline"


def test_the_winner_is_only_a_proposal_until_the_moderator_puts_it() -> None:
    t = Table()
    a, b, _ = opened(t)
    t.do("rank", ADA, [b, a])
    t.do("rank", BEN, [b, a])
    t.do("close_ranking", MOD)
    assert t.d.ranking(1).result().winners == (b,)
    assert t.d.proposal is None  # nothing adopted by the count
    t.do("adopt", MOD, b)
    assert t.d.proposal is not None
    assert t.d.proposal.draft_id == b


# ---------------------------------------------------------------- replay and the record


def ranked_table(*, anonymous: bool = False) -> tuple[Table, list[int]]:
    t = Table(anonymous=anonymous)
    a, b, c = opened(t)
    t.do("rank", ADA, [a, b, c])
    t.do("rank", BEN, [b, a])
    t.do("rank", CAI, [a, c])
    t.do("rank", ADA, [a, c, b])  # changed: only the latest counts
    t.do("close_ranking", MOD)
    t.do("adopt", MOD, a)
    t.wait(11)
    t.advance()
    t.wait(11)
    t.advance(force=True)
    return t, [a, b, c]


def test_replay_rebuilds_every_ranking_and_its_count() -> None:
    t, _ = ranked_table()
    again = replay(1, 77, t.events)
    assert again.ranking(1).ballots == t.d.ranking(1).ballots
    assert compose_record(again) == compose_record(t.d)


@pytest.mark.parametrize(
    ("forge", "why"),
    [
        (lambda e, ids: dataclasses.replace(e, actor=SAGE), "only a member"),
        (lambda e, ids: dataclasses.replace(e, actor=OBS), "has not joined"),
        (lambda e, ids: dataclasses.replace(e, payload=BallotCast(1, (ids[0], 999))), "not in ranking #1"),
        (lambda e, ids: dataclasses.replace(e, payload=BallotCast(1, (ids[0], ids[0]))), "twice"),
        (lambda e, ids: dataclasses.replace(e, payload=BallotCast(2, (ids[0],))), "no ranking #2"),
        # Two of three named is stored complete: an incomplete pair was never written by the engine.
        (lambda e, ids: dataclasses.replace(e, payload=BallotCast(1, (ids[1], ids[0]))), "something else"),
    ],
)
def test_replay_refuses_a_ballot_the_engine_would_never_have_stored(forge, why: str) -> None:  # type: ignore[no-untyped-def]
    t, ids = ranked_table()
    seq = next(i for i, e in enumerate(t.events) if e.kind is EventKind.BALLOT_CAST)
    events = [*t.events[:seq], forge(t.events[seq], ids), *t.events[seq + 1 :]]
    with pytest.raises(InvalidEvent, match=why):
        replay(1, 77, events)


def test_replay_refuses_a_ballot_after_the_ranking_closed_and_a_close_by_a_member() -> None:
    t, ids = ranked_table()
    closed = next(i for i, e in enumerate(t.events) if e.kind is EventKind.RANKING_CLOSED)
    late = Event(BEN, t.events[closed].at, BallotCast(1, (ids[2], ids[1], ids[0])))
    with pytest.raises(InvalidEvent, match="closed"):
        replay(1, 77, [*t.events[: closed + 1], late, *t.events[closed + 1 :]])
    by_member = dataclasses.replace(t.events[closed], actor=ADA)
    with pytest.raises(InvalidEvent, match="moderator"):
        replay(1, 77, [*t.events[:closed], by_member, *t.events[closed + 1 :]])
    by_system_for_another = dataclasses.replace(
        t.events[closed], actor=Actor.system("deadline"), payload=RankingClosed(2)
    )
    with pytest.raises(InvalidEvent, match="not the open ranking"):
        replay(1, 77, [*t.events[:closed], by_system_for_another, *t.events[closed + 1 :]])


def test_the_sealed_record_holds_the_matrix_and_the_count_and_nothing_of_who_ranked_what() -> None:
    t, (a, b, c) = ranked_table()
    record = compose_record(t.d)
    (k,) = record.rankings or ()
    assert (k.number, k.drafts, k.ballots, k.closed) == (1, (a, b, c), 3, True)
    # Ada a>c>b, Ben b>a>c, Cai a>c>b (two named of three: stored complete).
    assert k.preferences == ((0, 2, 3), (1, 0, 1), (0, 2, 0))
    assert k.winners == (a,)
    assert k.order == ((a,), (c,), (b,))
    data = record.to_dict()["rankings"][0]
    assert set(data) == {"number", "drafts", "ballots", "preferences", "winners", "order", "closed"}
    assert Record.from_dict(json.loads(record_json(record))) == record
    md = render_markdown(record)
    assert "## Rankings of drafts (members' ballots, Schulze method)" in md
    assert f"### Ranking #1 of drafts #{a}, #{b}, #{c}: 3 ballot(s)" in md
    assert f"Preferred: draft #{a}." in md
    assert f"| #{a} | - | 2 | 3 |" in md


def test_an_anonymous_record_names_no_member_anywhere_ranking_included() -> None:
    t, _ = ranked_table(anonymous=True)
    record = compose_record(t.d)
    text = record_json(record) + render_markdown(record)
    for member in (ADA, BEN, CAI):
        assert member.name not in text
        assert member.key not in text
    assert record.rankings is not None
    assert record.rankings[0].ballots == 3


def test_a_tie_is_reported_as_a_tie() -> None:
    t = Table()
    a, b = opened(t, drafts=2)
    t.do("rank", ADA, [a, b])
    t.do("rank", BEN, [b, a])
    t.do("close_ranking", MOD)
    t.wait(11)
    t.advance()
    t.wait(11)
    t.advance(force=True)
    record = compose_record(t.d)
    (k,) = record.rankings or ()
    assert k.tie
    assert set(k.winners) == {a, b}
    assert f"Tie: drafts #{a} and #{b} are preferred equally." in render_markdown(record)


def test_a_record_without_rankings_has_no_rankings_key() -> None:
    t = Table()
    at_synthesis(t, drafts=2)
    t.wait(11)
    t.advance()
    t.wait(11)
    t.advance(force=True)
    assert "rankings" not in compose_record(t.d).to_dict()


@given(st.lists(st.integers(min_value=-2, max_value=12), max_size=6))
@settings(max_examples=150, deadline=None)
def test_any_ballot_is_refused_whole_or_stored_as_a_ranking_of_the_rankings_drafts(order: list[int]) -> None:
    """Whatever numbers a member sends: a clear refusal that changes nothing, or a ballot naming
    only the ranking's drafts, each once, in the order sent (completed when one is left)."""
    t = Table()
    drafts = opened(t)
    before = len(t.events)
    valid = bool(order) and set(order) <= set(drafts) and len(set(order)) == len(order)
    if not valid:
        with pytest.raises(errors.RoundtableError):
            t.do("rank", ADA, order)
        assert len(t.events) == before
        assert t.d.open_ranking_now().ballots == {}
        return
    stored = t.do("rank", ADA, order)[-1].payload.order
    assert len(set(stored)) == len(stored)
    assert set(stored) <= set(drafts)
    assert list(stored[: len(order)]) == order
    assert len(stored) == (len(drafts) if len(order) >= len(drafts) - 1 else len(order))
    assert t.d.open_ranking_now().ballots == {ADA.key: stored}


def test_a_ballot_counts_as_taking_part_in_the_round_it_was_cast_in() -> None:
    t = Table()
    a, b, c = opened(t)
    t.do("rank", BEN, [c, a, b])
    took, silent = t.d.round_participation(t.d.current)
    # Ada drafted, Ben ranked: both took part; Cai did nothing in this round.
    assert {p.key for p in took} == {ADA.key, BEN.key}
    assert {p.key for p in silent} == {CAI.key}
