"""The record's format 3 text (responses quoted under what they answer, the reasons objections
moved) cannot forge the Markdown either: the property of `test_record_markdown.py`, over the
new places member text goes."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import ConsentChoice, Deliberation, ObjectionStatus
from bot.engine.record import compose_record, record_json, render_markdown
from tests.engine.helpers import ADA, BEN, CAI, MOD, Table
from tests.engine.record_scenes import added
from tests.engine.test_record_markdown import assert_same_outline, outline, texts

FIELDS = (
    "reply_position", "reply_reply", "reply_objection", "reply_statement", "addressed", "reopened",
    "withdrawn", "lifted",
)  # fmt: skip


def plain() -> dict[str, str]:
    return {name: f"Threadword{i}x" for i, name in enumerate(FIELDS)}


def deliberate(t: dict[str, str]) -> Deliberation:
    table = Table("consent", quorum=2)
    position = added(table, "state_position", ADA, "Yes", "Fridays suit more people.")
    table.wait(11)
    table.advance()
    objection = added(table, "object", BEN, "No room", "The hall is booked.")
    statement = added(table, "state_statement", CAI, "Evenings suit most of us.")
    reply = added(table, "respond", BEN, t["reply_position"], position)
    table.do("respond", ADA, t["reply_reply"], reply)
    table.do("respond", ADA, t["reply_objection"], objection)
    table.do("respond", BEN, t["reply_statement"], statement)
    table.do("move_objection", MOD, objection, ObjectionStatus.ADDRESSED, reason=t["addressed"])
    table.do("move_objection", BEN, objection, ObjectionStatus.OPEN, reason=t["reopened"])
    early = added(table, "object", ADA, "Too early", "Start at seven.")
    table.do("move_objection", ADA, early, ObjectionStatus.WITHDRAWN, reason=t["withdrawn"])
    table.wait(11)
    table.advance()
    table.wait(11)
    table.advance()
    table.do("give_consent", CAI, ConsentChoice.BLOCK, reason="Parents cannot come.")
    table.do("give_consent", CAI, ConsentChoice.RESERVATIONS, reason=t["lifted"])
    table.wait(11)
    table.advance()
    assert not table.d.is_open
    return table.d


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.fixed_dictionaries(dict.fromkeys(FIELDS, texts)))
def test_responses_and_reasons_stay_text_under_what_they_belong_to(values: dict[str, str]) -> None:
    words = plain()
    assert not any(w in v for v in values.values() for w in words.values())
    cleaned = {k: v.strip() for k, v in values.items()}
    record, expected = compose_record(deliberate(values)), compose_record(deliberate(words))
    shown_for = {**{words[name]: value for name, value in cleaned.items()}, expected.digest: record.digest}
    assert_same_outline(outline(render_markdown(record)), outline(render_markdown(expected)), shown_for)

    # The JSON keeps every word exactly, in its place.
    data = json.loads(record_json(record))
    (position,) = data["positions"]
    assert [r["text"] for r in position["responses"]] == [cleaned["reply_position"]]
    others = {c["id"]: c for c in data["other_contributions"]}
    (reply,) = position["responses"]
    assert [r["text"] for r in others[reply["id"]]["responses"]] == [cleaned["reply_reply"]]
    room, early, block = data["objections"]
    assert [r["text"] for r in room["responses"]] == [cleaned["reply_objection"]]
    assert [s.get("reason") for s in room["history"]] == [None, cleaned["addressed"], cleaned["reopened"], None]
    assert [s.get("reason") for s in early["history"]] == [None, cleaned["withdrawn"]]
    assert [s.get("reason") for s in block["history"]] == [None, cleaned["lifted"]]
