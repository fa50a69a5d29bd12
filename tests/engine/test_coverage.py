"""Dissent coverage: the open objections and minority positions a draft leaves unanswered."""

from __future__ import annotations

import pytest

from bot.engine import coverage
from bot.engine.model import ObjectionStatus, Vote
from tests.engine.helpers import ADA, BEN, CAI, MOD, SAGE, Table


def _to_synthesis(anonymous: bool = False) -> tuple[Table, dict[str, int]]:
    """Three positions; Cai's is voted down; two objections; then the synthesis round."""
    t = Table(anonymous=anonymous)
    ids = {}
    for actor, stance, text in (
        (ADA, "for", "Fridays suit most of us."),
        (BEN, "for", "Fridays are quieter."),
        (CAI, "against", "Fridays exclude parents."),
    ):
        ids[actor.name] = t.do("state_position", actor, stance, text)[-1].payload.id
    t.wait(11)
    t.advance()  # dissent
    for voter in (ADA, BEN):
        t.do("vote", voter, ids["Cai"], Vote.DISAGREE)
    ids["pickup"] = t.do("object", CAI, "Parents cannot come", "School pickup is at 3pm")[-1].payload.id
    ids["venue"] = t.do("object", BEN, "The venue closes early", "It shuts at 6pm on Fridays")[-1].payload.id
    t.wait(11)
    t.advance()  # synthesis
    return t, ids


def _draft(t: Table, *, answers: tuple[int, ...] = (), cites: tuple[int, ...] = ()) -> int:
    meta = {"model": "m", "claims": [{"text": "x", "cites": [{"id": i, "quote": "q"} for i in cites]}]}
    return t.do("draft", SAGE, "Meet on Fridays at noon.", answers=answers, meta=meta)[-1].payload.id


def test_a_draft_that_ignores_dissent_lists_all_of_it() -> None:
    t, ids = _to_synthesis()
    draft = _draft(t)
    left = coverage.unaddressed(t.d, draft)
    assert [(i.id, i.kind, i.author) for i in left] == [
        (ids["Cai"], "minority position", "Cai"),
        (ids["pickup"], "objection", "Cai"),
        (ids["venue"], "objection", "Ben"),
    ]
    assert coverage.not_addressed_text(left) == f"#{ids['Cai']} (Cai), #{ids['pickup']} (Cai), #{ids['venue']} (Ben)"


def test_answering_or_citing_covers_an_item() -> None:
    t, ids = _to_synthesis()
    draft = _draft(t, answers=(ids["pickup"],), cites=(ids["Cai"],))
    assert [i.id for i in coverage.unaddressed(t.d, draft)] == [ids["venue"]]
    both = _draft(t, answers=(ids["pickup"], ids["venue"]), cites=(ids["Cai"],))
    assert coverage.unaddressed(t.d, both) == []
    assert coverage.not_addressed_text([]) == ""


def test_objections_no_longer_open_are_not_listed() -> None:
    t, ids = _to_synthesis()
    draft = _draft(t)
    t.do("move_objection", MOD, ids["venue"], ObjectionStatus.ADDRESSED, reason="The hall is booked now.")
    t.do("move_objection", CAI, ids["pickup"], ObjectionStatus.WITHDRAWN)
    assert [i.id for i in coverage.unaddressed(t.d, draft)] == [ids["Cai"]]


def test_majority_positions_and_ai_positions_are_not_dissent() -> None:
    t, ids = _to_synthesis()
    minority = coverage.minority_positions(t.d)
    assert [c.id for c in minority] == [ids["Cai"]]


def test_anonymous_deliberations_show_aliases() -> None:
    t, _ = _to_synthesis(anonymous=True)
    left = coverage.unaddressed(t.d, _draft(t))
    aliases = {t.d.participants[a.key].alias for a in (BEN, CAI)}
    assert {i.author for i in left} <= aliases
    assert "Cai" not in coverage.not_addressed_text(left)


def test_sources_show_quotes_with_authors_once_each() -> None:
    t, ids = _to_synthesis(anonymous=True)
    meta = {
        "claims": [
            {"text": "a", "cites": [{"id": ids["Ada"], "quote": "Fridays suit most of us."}]},
            {"text": "b", "cites": [{"id": ids["Ada"], "quote": "Fridays suit most of us."}]},
            {"text": "c", "cites": [{"id": ids["pickup"], "quote": "School pickup is at 3pm"}]},
        ]
    }
    draft = t.do("draft", SAGE, "Meet at noon.", meta=meta)[-1].payload.id
    shown = coverage.sources(t.d, t.d.contributions[draft])
    ada, cai = t.d.participants[ADA.key].alias, t.d.participants[CAI.key].alias
    assert [(s.id, s.author, s.quote) for s in shown] == [
        (ids["Ada"], ada, "Fridays suit most of us."),
        (ids["pickup"], cai, "School pickup is at 3pm"),
    ]


def test_only_drafts_have_coverage() -> None:
    t, ids = _to_synthesis()
    with pytest.raises(ValueError, match="not a draft"):
        coverage.unaddressed(t.d, ids["Ada"])
