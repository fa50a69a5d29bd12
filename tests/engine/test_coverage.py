"""Dissent coverage: the open objections and minority positions a draft leaves unanswered."""

from __future__ import annotations

import pytest

from bot.engine import Actor, coverage
from bot.engine.model import ConsentChoice, ObjectionStatus, Vote
from bot.engine.record import Record, compose_record, render_markdown
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


def test_an_ai_draft_covers_only_what_its_checked_quotes_cite() -> None:
    t, ids = _to_synthesis()
    draft = _draft(t, cites=(ids["Cai"], ids["pickup"]))
    assert [i.id for i in coverage.unaddressed(t.d, draft)] == [ids["venue"]]
    # Ids the model says it answers are its word, unchecked: they cover nothing.
    claims_all = _draft(t, answers=(ids["Cai"], ids["pickup"], ids["venue"]))
    assert [i.id for i in coverage.unaddressed(t.d, claims_all)] == [ids["Cai"], ids["pickup"], ids["venue"]]
    assert coverage.not_addressed_text([]) == ""


def test_a_members_draft_covers_what_its_author_says_it_answers() -> None:
    t, ids = _to_synthesis()
    draft = t.do("draft", ADA, "Fridays, with a parents' slot.", answers=(ids["pickup"], ids["Cai"]))[-1].payload.id
    assert [i.id for i in coverage.unaddressed(t.d, draft)] == [ids["venue"]]


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


def _seal(t: Table, draft: int) -> None:
    """The moderator puts the draft to the group; Ada and Ben endorse, Cai stands aside; sealed."""
    t.do("adopt", MOD, draft)
    t.wait(11)
    t.advance()  # consent
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.do("give_consent", BEN, ConsentChoice.ENDORSE)
    t.do("give_consent", CAI, ConsentChoice.STAND_ASIDE)
    t.wait(11)
    t.advance()  # sealed


def test_the_sealed_record_says_what_each_draft_left_unaddressed() -> None:
    t, ids = _to_synthesis()
    cited = _draft(t, cites=(ids["pickup"], ids["Cai"]))
    ignoring = _draft(t)
    t.do("move_objection", BEN, ids["venue"], ObjectionStatus.WITHDRAWN)
    _seal(t, cited)

    record = compose_record(t.d)
    left = {c.id: c.not_addressed for c in record.other_contributions}
    # The pickup objection stood at sealing: a standing objection is still dissent a draft must answer.
    assert [o.id for o in record.standing_objections] == [ids["pickup"]]
    assert left[cited] == ()
    assert [(u.id, u.kind, u.author) for u in left[ignoring] or ()] == [
        (ids["Cai"], "minority position", "Cai"),
        (ids["pickup"], "objection", "Cai"),
    ]
    markdown = render_markdown(record)
    assert f"Not addressed: #{ids['Cai']} (**Cai**), #{ids['pickup']} (**Cai**)" in markdown
    assert "Answers or cites every objection left open and every minority position." in markdown
    # Statements and positions carry no coverage; the JSON round-trips.
    assert all(c.not_addressed is None for c in record.other_contributions if c.kind != "draft")
    assert Record.from_dict(record.to_dict()) == record


def test_the_record_names_unaddressed_dissent_by_alias_when_anonymous() -> None:
    t, _ids = _to_synthesis(anonymous=True)
    draft = _draft(t)
    _seal(t, draft)

    record = compose_record(t.d)
    (drafted,) = [c for c in record.other_contributions if c.kind == "draft"]
    assert drafted.not_addressed
    assert {u.author for u in drafted.not_addressed} <= {p.alias for p in t.d.participants.values()}
    assert "Cai" not in render_markdown(record)
    assert "Ben" not in render_markdown(record)


def test_a_member_name_made_of_markdown_cannot_forge_the_coverage_line() -> None:
    hostile = Actor.human(4, "Eve](http://x)\n# Decision record #1: Approved")
    t = Table()
    t.do("state_position", ADA, "for", "Fridays suit most of us.")
    t.do("state_position", BEN, "for", "Fridays are quieter.")
    t.do("state_position", hostile, "against", "No.")
    t.wait(11)
    t.advance()
    objection = t.do("object", hostile, "Not Fridays", "Because.")[-1].payload.id
    t.wait(11)
    t.advance()
    draft = _draft(t)
    t.do("adopt", MOD, draft)
    t.wait(11)
    t.advance()
    for member in (ADA, BEN, hostile):
        t.do("give_consent", member, ConsentChoice.ENDORSE)
    t.wait(11)
    t.advance()

    markdown = render_markdown(compose_record(t.d))
    (line,) = [x for x in markdown.splitlines() if x.startswith("Not addressed:")]
    assert f"#{objection}" in line
    assert markdown.count("\n# ") == 0
    assert "](http" not in markdown.replace("\\]", "")
