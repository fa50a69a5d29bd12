"""`verify` on a database holding objections moved with reasons (issue 11, item 4): intact as
written, and an edited reason is caught wherever it is edited (the event, the sealed record)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.engine import Actor, ConsentChoice, ObjectionStatus, Role
from bot.service import Roundtable
from tests.conftest import ManualClock

GUILD = 1001
MOD, ADA, BEN = Actor.human(10, "Mona"), Actor.human(11, "Ada"), Actor.human(12, "Ben")
REASON = "The library room is free on Fridays."


async def build(settings: Settings, clock: ManualClock) -> Path:
    """A sealed deliberation: an objection addressed with a reason, reopened with one, responded
    to, and left standing; a block addressed with a reason."""
    rt = await Roundtable.open(settings, clock)
    d = (await rt.start(GUILD, 5, MOD, "Fridays?", template="consent")).deliberation

    async def act(decide) -> None:  # type: ignore[no-untyped-def]
        await rt.act(GUILD, d.id, decide)

    await act(lambda d, at: d.state_position(ADA, "Yes", "Fridays free the weekend", at))
    await act(lambda d, at: d.join(BEN, Role.PARTICIPANT, at))
    clock.advance(15)
    await act(lambda d, at: d.advance(MOD, at))
    await act(lambda d, at: d.object(BEN, "No room", "The hall is booked", at))
    await act(lambda d, at: d.respond(ADA, "Ask the library.", 2, at))
    await act(lambda d, at: d.move_objection(MOD, 2, ObjectionStatus.ADDRESSED, at, reason=REASON))
    await act(lambda d, at: d.move_objection(BEN, 2, ObjectionStatus.OPEN, at, reason="It closes at six."))
    clock.advance(15)
    await act(lambda d, at: d.advance(MOD, at))
    clock.advance(15)
    await act(lambda d, at: d.advance(MOD, at))
    await act(lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await act(lambda d, at: d.give_consent(BEN, ConsentChoice.BLOCK, at, reason="Shift work"))
    block = max((await rt.get(GUILD, d.id)).objections)
    await act(lambda d, at: d.move_objection(MOD, block, ObjectionStatus.ADDRESSED, at, reason="Rota changes."))
    clock.advance(15)
    await act(lambda d, at: d.advance(MOD, at))
    stored = await rt.record(GUILD, d.id)
    assert [s["status"] for s in stored.record["objections"][0]["history"]] == [
        "raised",
        "addressed",
        "reopened",
        "standing",
    ]
    await rt.close()
    return settings.database.path


@pytest.fixture
def db(settings: Settings, clock: ManualClock) -> Path:
    return asyncio.run(build(settings, clock))


def verify(capsys: pytest.CaptureFixture[str], db: Path) -> tuple[int, str]:
    code = main(["verify", "--db", str(db)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_database_with_reasons_verifies(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out = verify(capsys, db)
    assert code == 0, out
    assert "1 sealed records" in out
    conn = sqlite3.connect(db)
    payloads = [json.loads(p) for (p,) in conn.execute("SELECT payload FROM events WHERE kind = 'objection.moved'")]
    assert {"id": 2, "status": "addressed", "reason": REASON} in payloads
    refs = {r for (r,) in conn.execute("SELECT ref FROM outbox")}
    assert sum(r.startswith("addressed:") for r in refs) == 2  # each author is owed a note


def test_an_edited_reason_in_the_event_is_caught(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET payload = replace(payload, 'library room', 'town hall')")
    conn.commit()
    conn.close()
    code, out = verify(capsys, db)
    assert code == 1, out
    assert "NOT intact" in out


def test_an_edited_reason_in_the_sealed_record_is_caught(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    conn = sqlite3.connect(db)
    (record,) = conn.execute("SELECT record_json FROM decision_records").fetchone()
    assert REASON in record
    conn.execute("UPDATE decision_records SET record_json = replace(record_json, 'library room', 'town hall')")
    conn.commit()
    conn.close()
    code, out = verify(capsys, db)
    assert code == 1, out
    assert "NOT intact" in out


def test_a_reason_removed_from_the_event_is_caught(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # Without a reason the event reads as an earlier release's; its hash still gives it away.
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute(
        "UPDATE events SET payload = ? WHERE payload = ?",
        (
            '{"id":2,"status":"addressed"}',
            json.dumps({"id": 2, "reason": REASON, "status": "addressed"}, separators=(",", ":")),
        ),
    )
    assert conn.total_changes == 1
    conn.commit()
    conn.close()
    code, out = verify(capsys, db)
    assert code == 1, out
    assert "NOT intact" in out
