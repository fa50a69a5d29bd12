"""The record model: one dataclass, its JSON kept byte for byte, one rendering of each kind."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from bot.engine import Actor, ProposalSource
from bot.engine.record import (
    RECORD_FORMAT,
    Record,
    authorship,
    canonical_json,
    compose_record,
    record_digest,
    record_json,
    render_markdown,
)
from tests.engine.helpers import Table
from tests.engine.record_scenes import PROVENANCE, full, full_table

# Sealed by the previous release (format 1, commit 23504b0) from `record_scenes.full()`, exactly
# the bytes its store wrote to `decision_records.record_json`; its digest as its sealing event holds it.
FORMAT_1 = Path(__file__).parent / "data" / "record_format1.json"
FORMAT_1_DIGEST = "a0966ab85a40366a78224e46be2b448ba6575d3e672c2ba1d45beb362e2c74e4"


def test_a_composed_record_survives_json_and_back_byte_for_byte() -> None:
    record = compose_record(full())
    text = record_json(record)
    again = Record.from_dict(json.loads(text))
    assert again == record
    assert record_json(again) == text
    assert canonical_json(again.to_dict()) == canonical_json(record.to_dict())
    assert record_digest(again) == record_digest(record) == record_digest(json.loads(text))
    sealed = record.sealed("f" * 64)
    assert json.loads(record_json(sealed))["chain_head"] == "f" * 64
    assert record_digest(sealed) == record_digest(record)  # the chain head is not part of the content
    assert Record.from_dict(json.loads(record_json(sealed))) == sealed


def test_a_record_stored_by_the_previous_release_keeps_its_bytes_and_digest() -> None:
    stored = FORMAT_1.read_text(encoding="utf-8")
    data = json.loads(stored)
    assert data["format"] == 1
    record = Record.from_dict(data)
    assert record_json(record) == stored
    assert record_digest(record) == record_digest(data) == FORMAT_1_DIGEST
    # Every part of it was read into the model, none kept aside as a dict.
    assert record.positions[2].author.is_ai
    assert record.positions[2].provenance is not None
    assert record.positions[2].provenance["given_ids"] == (1, 2)
    assert record.other_contributions[1].moderated_out is True
    assert record.proposal is not None
    assert record.proposal.drafted_by is not None
    assert record.proposal.drafted_by.model == "smollm2-135m"
    assert [o.status for o in record.objections] == ["standing", "withdrawn", "addressed", "standing"]
    # The Markdown renders from it too (verify re-renders only records of the current format).
    assert "# Decision record #1: Should we move the meetup to Fridays?" in render_markdown(record)


def test_the_json_shape_is_what_the_previous_release_wrote_but_for_what_later_formats_changed() -> None:
    old = json.loads(FORMAT_1.read_text(encoding="utf-8"))
    new = compose_record(full()).sealed(old["chain_head"]).to_dict()
    assert new["format"] == RECORD_FORMAT == 3
    changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    format_3 = {"objections", "standing_objections", "other_contributions", "participation", "draft_lineage"}
    assert changed == {"format", "proposal", *format_3}
    assert {k for k in old["proposal"] if old["proposal"][k] != new["proposal"][k]} == {"summary"}
    # Format 3: each draft says what it leaves unaddressed.
    drafts = [c for c in new["other_contributions"] if c["kind"] == "draft"]
    assert drafts
    assert all("not_addressed" in c for c in drafts)

    # Format 3 adds each objection's status history and the responses quoted under what they
    # answer; what was there stays as it was.
    def without(items: list[dict[str, object]], *keys: str) -> list[dict[str, object]]:
        return [{k: v for k, v in item.items() if k not in keys} for item in items]

    for key in ("objections", "standing_objections"):
        assert without(new[key], "history", "responses") == old[key]
        assert all(o["history"][0]["status"] == "raised" for o in new[key])
    assert without(new["other_contributions"], "responses", "not_addressed") == old["other_contributions"]
    # The facilitating moderator is no longer listed as not taking part.
    assert old["participation"]["silent"] == ["Mona", "Dee"]
    assert new["participation"] == {**old["participation"], "silent": ["Dee"]}


def test_a_record_that_is_not_one_is_refused_clearly() -> None:
    data = compose_record(full()).to_dict()
    with pytest.raises(ValueError, match="unknown fields 'extra'"):
        Record.from_dict({**data, "extra": 1})
    with pytest.raises(ValueError, match="has no 'outcome'"):
        Record.from_dict({k: v for k, v in data.items() if k != "outcome"})
    positions = [{**data["positions"][0], "votes": {"agree": 1, "disagree": 0}}]
    with pytest.raises(ValueError, match="Votes: the record has no 'pass'"):
        Record.from_dict({**data, "positions": positions})
    with pytest.raises(ValueError, match="expected an object"):
        Record.from_dict({**data, "tally": [1, 2]})


def test_the_record_is_frozen_and_owns_its_provenance() -> None:
    record = compose_record(full())
    with pytest.raises(FrozenInstanceError):
        record.question = "Changed?"  # type: ignore[misc]
    provenance = record.positions[2].provenance
    assert provenance is not None
    with pytest.raises(TypeError):
        provenance["model"] = "other"  # type: ignore[index]
    PROVENANCE["model"] = "changed after sealing"
    try:
        assert compose_record(full()).positions[2].provenance["model"] == "changed after sealing"  # type: ignore[index]
        assert provenance["model"] == "smollm2-135m"
    finally:
        PROVENANCE["model"] = "smollm2-135m"


def test_pretty_json_is_the_same_data_for_people_to_read() -> None:
    record = compose_record(full()).sealed("a" * 64)
    pretty = record_json(record, pretty=True)
    assert pretty.endswith("}\n")
    assert '\n  "anonymous": false,\n' in pretty  # indented, keys sorted
    assert json.loads(pretty) == json.loads(record_json(record)) == record.to_dict()
    assert record_json(record.to_dict(), pretty=True) == pretty


def test_the_markdown_ends_with_the_digest_its_sealing_event_holds() -> None:
    record = compose_record(full())
    markdown = render_markdown(record)
    assert markdown.endswith(f"---\n\nRecord digest (SHA-256 of its canonical JSON): `{record_digest(record)}`\n")
    # Rendering from the stored JSON (as `verify` does) gives the same text as from the model.
    assert render_markdown(json.loads(record_json(record.sealed("b" * 64)))) == markdown


def test_one_authorship_wording_for_each_kind_of_proposal() -> None:
    t = full_table()
    assert t.d.proposal is not None
    assert t.d.proposal.source is ProposalSource.AMENDED
    wording = f"Draft #{t.d.proposal.draft_id} by AI participant Sage (smollm2-135m), adopted with amendments by Mona."
    assert authorship(t.d) == wording
    record = compose_record(t.d)
    assert record.proposal is not None
    assert record.proposal.summary == wording
    assert f"\n\n{wording.replace('#', chr(92) + '#')}\n\n" in render_markdown(record)

    quick = Table("quick", quorum=1)
    while quick.d.is_open:  # nobody proposes: sealing puts the question itself
        quick.wait(61)
        quick.advance()
    assert quick.d.proposal is not None
    assert authorship(quick.d) == "The question as asked, put to the group by Mona."


def test_the_markdown_quotes_every_kind_of_text_in_its_place() -> None:
    markdown = render_markdown(compose_record(full()))
    for quoted in (
        "## Proposal\n\n> Meet on Fridays; record every session.\n",
        "Ben (Block):\n\n> Shift workers are shut out.\n",
        "Cai (Agree with reservations):\n\n> Only if recorded.\n",
        "### Objection #7 by Ben\n\n> Excludes shift workers\n\nWhy:\n\n> Half of us work Friday evenings.\n",
        "### Block #12 by Ben\n\n> Block\n\nWhy:\n\n> Shift workers are shut out.\n",
        "### Minority position #2 by Ben: No\n\n> I work \\*late\\* on Fridays.\n\n"
        "Listed because its author answered: Block; 2 disagreed, 0 agreed.\n",
        "### #5 statement by Ben\n\n> Buy my product at example.com\n\nAgree 0, disagree 0, pass 0; moderated out\n",
        "### #8 objection (withdrawn) by Ada\n\n> Too early\n\nWhy:\n\n> Start at seven.\n",
        "- Took part: Cai, Ada, Ben\n- Did not take part: Dee\n",
        "- dissent round: 3.0 minutes (closed early by the moderator)\n",
        "- AI participant Sage was unavailable: the model server did not answer\n",
    ):
        assert quoted in markdown


def test_an_anonymous_record_names_no_one_not_even_the_moderator() -> None:
    mona = Actor.human(700000000000000001, "Mona Realname")
    t = full_table(anonymous=True, moderator=mona)
    record = compose_record(t.d)
    assert record.moderator == "Moderator"
    assert record.proposal is not None
    assert record.proposal.put_by == "Moderator"
    assert record.proposal.summary.endswith("adopted with amendments by Moderator.")
    markdown = render_markdown(record)
    assert "- Process: consent; moderator: Moderator\n" in markdown
    everything = [record_json(record), record_json(record, pretty=True), markdown]
    people = [p for p in t.d.participants.values() if p.is_human]
    assert len(people) == 6
    secrets = [p.name for p in people] + [str(mona.id)]
    for secret in secrets:
        assert not [text for text in everything if secret in text], secret
