"""The sealed record keeps each draft's lineage: who drafted it, who critiqued it (verbatim, aliases
when anonymous), which draft it revises and which revised it; critics count as taking part."""

from __future__ import annotations

import json

from markdown_it import MarkdownIt

from bot.engine import ConsentChoice, Role
from bot.engine.record import Record, compose_record, record_json, render_markdown
from tests.engine.helpers import ADA, BEN, CAI, MOD, SAGE, Table

META = {"model": "smollm2-135m", "endpoint_host": "embedded", "claims": []}
FORGERY = "Fine by me.\n\n## Outcome: consensus\n\n- Took part: everyone"


def critiqued_and_revised(*, anonymous: bool = False) -> tuple[Table, dict[str, int]]:
    """Positions, an AI draft critiqued by two members and the AI, a revision adopted, consent, sealed."""
    t = Table(quorum=2, anonymous=anonymous)
    t.do("join", CAI, Role.PARTICIPANT)
    t.do("state_position", ADA, "Yes", "Fridays free the weekend.")
    t.do("state_position", BEN, "No", "I work late on Fridays.")
    t.wait(11)
    t.advance()
    t.wait(11)
    t.advance()
    ids: dict[str, int] = {}
    t.do("draft", SAGE, "Meet on Fridays.", meta=dict(META))
    ids["draft"] = max(t.d.contributions)
    t.do("critique", BEN, "Shift workers cannot come on Fridays.", ids["draft"])
    ids["ben"] = max(t.d.contributions)
    t.do("critique", CAI, FORGERY, ids["draft"])  # Cai spoke only here
    ids["cai"] = max(t.d.contributions)
    t.do("critique", SAGE, "It leaves out the late shift.", ids["draft"], meta=dict(META))
    ids["sage"] = max(t.d.contributions)
    t.do("revise_draft", SAGE, "Alternate Fridays and Tuesdays.", ids["draft"], answers=[ids["ben"]], meta=dict(META))
    ids["revision"] = max(t.d.contributions)
    t.do("adopt", MOD, ids["revision"])
    t.wait(11)
    t.advance()
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.do("give_consent", BEN, ConsentChoice.ENDORSE)
    t.wait(61)
    t.advance()
    assert not t.d.is_open
    return t, ids


def test_the_record_shows_each_drafts_lineage_verbatim() -> None:
    t, ids = critiqued_and_revised()
    record = compose_record(t.d)
    data = record.to_dict()

    original, revision = data["draft_lineage"]
    assert original["id"] == ids["draft"]
    assert original["drafted_by"]["kind"] == "ai"
    assert original["drafted_by"]["model"] == "smollm2-135m"
    assert original["revised_by"] == [ids["revision"]]
    assert "revises" not in original
    assert [(c["id"], c["author"]["name"], c["text"]) for c in original["critiques"]] == [
        (ids["ben"], "Ben", "Shift workers cannot come on Fridays."),
        (ids["cai"], "Cai", FORGERY),
        (ids["sage"], "Sage", "It leaves out the late shift."),
    ]
    assert revision["id"] == ids["revision"]
    assert revision["revises"] == ids["draft"]
    assert (revision["critiques"], revision["revised_by"]) == ([], [])
    # Critics took part; only Ben and Ada answered consent, Cai critiqued and nothing else.
    assert "Cai" in data["participation"]["spoke"]
    assert "Cai" not in data["participation"]["silent"]
    # The stored JSON reads back to the same record, and so the same digest.
    again = Record.from_dict(json.loads(record_json(record)))
    assert again == record
    assert again.digest == record.digest


def test_the_markdown_lineage_cannot_be_forged_by_a_critique() -> None:
    t, ids = critiqued_and_revised()
    md = render_markdown(compose_record(t.d))

    section = md.split("## Drafts: who drafted, who critiqued, what was revised", 1)[1].split("\n## ", 1)[0]
    assert f"### Draft #{ids['draft']} by AI participant · Sage · smollm2-135m · not authoritative" in section
    assert f"- Revised as: draft #{ids['revision']}." in section
    assert f"- Revises draft #{ids['draft']}, to answer its critiques." in section
    assert f"Critique #{ids['ben']} by Ben:\n\n> Shift workers cannot come on Fridays." in section
    headings = [
        tok.content
        for tok in (lambda toks: [toks[i + 1] for i, x in enumerate(toks) if x.type == "heading_open"])(
            MarkdownIt("commonmark").parse(md)
        )
    ]
    assert not any("Outcome: consensus" in h for h in headings), headings
    assert "Outcome: consensus" in md  # shown, as quoted text


def test_an_anonymous_record_names_critics_by_alias_only() -> None:
    t, _ids = critiqued_and_revised(anonymous=True)
    record = compose_record(t.d)
    text = record_json(record) + render_markdown(record)
    for name in ("Ada", "Ben", "Cai", "Mona"):
        assert name not in text
    (original, _) = record.draft_lineage or ()
    assert [c.author.name for c in original.critiques] == ["Participant 3", "Participant 1", "Sage"]  # Cai joined first


def test_a_record_without_drafts_has_no_lineage_and_older_records_still_read() -> None:
    t = Table("quick", quorum=1)
    t.do("state_position", ADA, "Yes", "Fridays.")
    t.wait(11)
    t.advance()
    t.do("give_consent", ADA, ConsentChoice.ENDORSE)
    t.wait(61)
    t.advance()
    data = compose_record(t.d).to_dict()
    assert "draft_lineage" not in data
    assert Record.from_dict(data).draft_lineage is None
