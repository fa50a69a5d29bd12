"""`python -m bot verify` on a database holding rankings of drafts: intact as written, and an edited
ballot is caught however it was edited (in place, re-chained, or re-chained to a ballot the
engine would have taken)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Actor, ConsentChoice
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.store.test_verify_tampering import GUILD, append_event, assert_caught, edit, rehash, verify

# Each test edits the SQLite file itself.
pytestmark = pytest.mark.sqlite_only

MOD, ADA, BEN, CAI = Actor.human(10, "Mona"), Actor.human(11, "Ada"), Actor.human(12, "Ben"), Actor.human(13, "Cai")
SEALED, OPEN = 1, 2


async def _to_ranking(rt: Roundtable, clock: ManualClock, question: str) -> tuple[int, list[int]]:
    d = (await rt.start(GUILD, 5, MOD, question, template="consent")).deliberation
    for who in (ADA, BEN, CAI):
        await rt.act(GUILD, d.id, lambda d, at, who=who: d.state_position(who, "Yes", "It helps", at))
    for _ in range(2):
        clock.advance(15)
        await rt.act(GUILD, d.id, lambda d, at: d.advance(MOD, at))
    drafts = []
    for who, text in ((ADA, "Fridays at six."), (BEN, "Saturdays at noon."), (CAI, "Alternate weeks.")):
        change = await rt.act(GUILD, d.id, lambda d, at, who=who, text=text: d.draft(who, text, at))
        drafts.append(change.added()[0])
    await rt.act(GUILD, d.id, lambda d, at: d.open_ranking(MOD, at))
    return d.id, drafts


async def build(settings: Settings, clock: ManualClock) -> Path:
    """One sealed deliberation whose ranking closed with three ballots, one open mid-ranking."""
    rt = await Roundtable.open(settings, clock)
    sealed, (a, b, c) = await _to_ranking(rt, clock, "When do we meet?")
    await rt.act(GUILD, sealed, lambda d, at: d.rank(ADA, [a, b], at))
    await rt.act(GUILD, sealed, lambda d, at: d.rank(BEN, [b], at))
    await rt.act(GUILD, sealed, lambda d, at: d.rank(CAI, [a, c, b], at))
    await rt.act(GUILD, sealed, lambda d, at: d.rank(BEN, [c, a], at))  # changed; the latest counts
    await rt.act(GUILD, sealed, lambda d, at: d.close_ranking(MOD, at))
    await rt.act(GUILD, sealed, lambda d, at: d.adopt(MOD, a, at))
    clock.advance(15)
    await rt.act(GUILD, sealed, lambda d, at: d.advance(MOD, at))
    for who in (ADA, BEN, CAI):
        await rt.act(GUILD, sealed, lambda d, at, who=who: d.give_consent(who, ConsentChoice.ENDORSE, at))
    clock.advance(15)
    await rt.act(GUILD, sealed, lambda d, at: d.advance(MOD, at))
    still, (x, y, _) = await _to_ranking(rt, clock, "Which venue?")
    await rt.act(GUILD, still, lambda d, at: d.rank(ADA, [y, x], at))
    stored = await rt.record(GUILD, sealed)
    assert stored.record["rankings"][0]["ballots"] == 3
    await rt.close()
    assert (sealed, still) == (SEALED, OPEN)
    return settings.database.path


@pytest.fixture
def db(settings: Settings, clock: ManualClock) -> Path:
    return asyncio.run(build(settings, clock))


def ballots(db: Path, deliberation: int) -> list[tuple[int, dict[str, object]]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT seq, payload FROM events WHERE stream = ? AND kind = 'ranking.ballot' ORDER BY seq",
        (f"d:{deliberation}",),
    ).fetchall()
    conn.close()
    return [(seq, json.loads(payload)) for seq, payload in rows]


def test_a_database_with_rankings_is_intact(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out = verify(capsys, db)
    assert code == 0, out
    assert "intact" in out


def test_a_ballot_edited_in_place_breaks_the_chain(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    seq, payload = ballots(db, SEALED)[0]
    order = payload["order"]
    assert isinstance(order, list)
    forged = json.dumps({"order": list(reversed(order)), "ranking": 1}, separators=(",", ":"), sort_keys=True)
    edit(db, f"UPDATE events SET payload = '{forged}' WHERE stream = 'd:{SEALED}' AND seq = {seq}", guards=True)
    assert_caught(capsys, db, f"d:{SEALED}")


def test_a_rechained_ballot_the_engine_would_take_changes_the_sealed_count(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    """Ada's ballot turned around and the chain rewritten: each event fits the rules, yet the
    record sealed from the real ballots no longer matches, and the signature gives it away."""
    seq, payload = ballots(db, SEALED)[0]
    order = payload["order"]
    assert isinstance(order, list)
    turned = sorted(order, reverse=True)  # another complete ballot over the same drafts
    assert turned != order
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")

    def change(s: int, kind: str, p: str) -> str:
        if s != seq:
            return p
        return json.dumps({"order": turned, "ranking": 1}, separators=(",", ":"), sort_keys=True)

    rehash(conn, f"d:{SEALED}", change)
    conn.commit()
    conn.close()
    assert_caught(capsys, db, f"decision_records #{SEALED}", "signature does not hold")


def test_a_rechained_ballot_for_a_draft_outside_the_ranking_is_refused_on_replay(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    seq, _ = ballots(db, OPEN)[0]
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    rehash(
        conn,
        f"d:{OPEN}",
        lambda s, kind, p: p if s != seq else json.dumps({"order": [1], "ranking": 1}, separators=(",", ":")),
    )
    conn.commit()
    conn.close()
    assert_caught(capsys, db, f"d:{OPEN}: event seq {seq}", "ranking.ballot", "Draft #1 is not in ranking #1")


def test_an_appended_ballot_by_an_ai_participant_is_refused_on_replay(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    drafts = ballots(db, OPEN)[0][1]["order"]
    assert isinstance(drafts, list)
    conn = sqlite3.connect(db)
    append_event(conn, f"d:{OPEN}", "ranking.ballot", Actor.ai("Sage"), {"order": drafts, "ranking": 1})
    conn.close()
    assert_caught(capsys, db, f"d:{OPEN}: event seq", "ranking.ballot", "only a member")
