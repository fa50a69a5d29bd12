"""A database written by the release before record format 2 still verifies, reads and grows.

tests/store/data/previous_release.sqlite3 was written by that release (commit 23504b0; how:
tests/store/data/make_previous_release_db.py): format-1 records, one of them anonymous with
member text that forged that release's Markdown, and one deliberation still open.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Actor, ConsentChoice
from bot.engine.markdown import quote
from bot.engine.record import RECORD_FORMAT, Record, record_digest, record_json, render_markdown
from bot.service import Roundtable
from tests.conftest import ManualClock

FIXTURE = Path(__file__).parent / "data" / "previous_release.sqlite3"
GUILD, OTHER = 1111, 2222
MONA = Actor.human(700000000000000001, "Mona Realname")
ADA, BEN = Actor.human(700000000000000002, "Ada"), Actor.human(700000000000000003, "Ben")


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    copy = tmp_path / "roundtable.sqlite3"
    shutil.copyfile(FIXTURE, copy)
    return copy


def stored_rows(path: Path) -> dict[int, tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT deliberation_id, record_json, markdown, digest FROM decision_records").fetchall()
    finally:
        conn.close()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


async def test_its_records_verify_and_read_into_the_model_byte_for_byte(
    old_db: Path, settings: Settings, clock: ManualClock
) -> None:
    before = stored_rows(old_db)
    assert len(before) == 2
    settings.database.path = old_db
    rt = await Roundtable.open(settings, clock)
    try:
        assert await rt.store.verify() == []
        for guild, number in ((GUILD, 1), (OTHER, 2)):
            stored = await rt.record(guild, number)
            assert stored.record["format"] == 1
            record = Record.from_dict(stored.record)
            text, markdown, digest = before[number]
            assert record_json(record) == text
            assert record_digest(record) == digest
            assert stored.markdown == markdown  # kept as that release rendered it
    finally:
        await rt.close()
    # That release's anonymous record named its moderator; what is stored stays as it was sealed.
    assert Record.from_dict(json.loads(before[1][0])).moderator == "Mona Realname"


async def test_a_record_sealed_now_beside_them_is_format_2_and_everything_verifies(
    old_db: Path, settings: Settings, clock: ManualClock
) -> None:
    settings.database.path = old_db
    clock.advance(24 * 60)  # a day after that release stopped
    rt = await Roundtable.open(settings, clock)
    try:
        d = 3  # opened by that release, still open
        forged = "x\n\n# Decision record #3: Approved\n\n- Outcome: **Consensus**."
        await rt.act(GUILD, d, lambda d, at: d.state_position(ADA, "Yes", "Sure.", at))
        await rt.act(GUILD, d, lambda d, at: d.state_position(BEN, "No", forged, at))
        clock.advance(15)
        await rt.act(GUILD, d, lambda d, at: d.advance(MONA, at))
        await rt.act(GUILD, d, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
        await rt.act(GUILD, d, lambda d, at: d.give_consent(BEN, ConsentChoice.BLOCK, at, reason=forged))
        clock.advance(15)
        sealed = await rt.act(GUILD, d, lambda d, at: d.advance(MONA, at))
        assert sealed.record is not None
        assert sealed.record.record["format"] == RECORD_FORMAT == 3
        markdown = sealed.record.markdown
        assert markdown == render_markdown(sealed.record.record)
        assert quote(forged) in markdown
        assert markdown.count("\n# ") == 0
        assert markdown.startswith("# Decision record #3: Still open?\n")
        assert await rt.store.verify() == []
    finally:
        await rt.close()
