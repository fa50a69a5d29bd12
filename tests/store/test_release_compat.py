"""A database written by the first release still verifies, decodes and replays, byte for byte.

`tests/data/release-0.1.sqlite3` was written by commit 23504b0 (`tests/data/make_release_db.py`),
before events were typed; it holds every kind of event that release wrote.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.engine.deliberation import Deliberation
from bot.engine.events import EventKind, MalformedEvent, decode, encode
from bot.store import Store
from bot.store.chain import canonical, event_from_row

RELEASE_DB = Path(__file__).parent.parent / "data" / "release-0.1.sqlite3"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "old.sqlite3"
    shutil.copyfile(RELEASE_DB, target)
    return target


def test_every_stored_payload_decodes_and_encodes_to_the_same_bytes(tmp_path: Path) -> None:
    conn = sqlite3.connect(_copy(tmp_path))
    rows = conn.execute("SELECT kind, payload FROM events ORDER BY id").fetchall()
    # Kinds added after that release cannot be in its file; everything it wrote must still read.
    later = {EventKind.RANKING_OPENED, EventKind.BALLOT_CAST, EventKind.RANKING_CLOSED}
    assert {kind for kind, _ in rows} == {k.value for k in EventKind} - later, "the fixture covers every kind"
    for kind, stored in rows:
        assert canonical(encode(decode(kind, json.loads(stored)))) == stored, kind


async def test_the_old_database_verifies_and_replays_to_its_sealed_record(tmp_path: Path) -> None:
    store = await Store.open(_copy(tmp_path))
    try:
        assert await store.verify() == []
        events = await store.load_events(77, 1)
        replayed = Deliberation.from_events(1, 77, events)
        # The record was sealed in format 1: its digest is in its sealing event (verified above);
        # today's composer writes format 2, so replaying yields the same decisions, not the same bytes.
        assert replayed.proposal is not None
        assert replayed.proposal.text == "Meet on Fridays at 18:30."
    finally:
        await store.close()


def test_a_payload_that_does_not_fit_its_kind_is_refused() -> None:
    for kind, payload in [
        ("objection.moved", {"id": 3}),  # a field missing
        ("vote.cast", {"statement": "3", "vote": "agree"}),  # text where a number belongs
        ("vote.cast", {"statement": 3, "vote": "maybe"}),  # not a vote
        ("consent.given", {"choice": "endorse", "reason": "", "extra": 1}),  # a field no release wrote
        ("deliberation.exploded", {}),  # no such kind
    ]:
        with pytest.raises(MalformedEvent):
            event_from_row(kind, "human:1", "Ada", "2026-03-01T12:00:00+00:00", json.dumps(payload))
