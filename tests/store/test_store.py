"""Storage on real SQLite files: durability, atomicity, tamper evidence, guild isolation."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Actor, ConsentChoice, Vote, errors
from bot.engine.record import RECORD_FORMAT, canonical_json, record_digest
from bot.service import Roundtable
from bot.store import Store
from bot.store.store import migrations
from tests.conftest import ManualClock

GUILD, OTHER_GUILD = 1001, 2002
MOD, ADA, BEN = Actor.human(10, "Mona"), Actor.human(11, "Ada"), Actor.human(12, "Ben")


async def sealed_quick(rt: Roundtable, clock: ManualClock, guild: int = GUILD, question: str = "Fridays?") -> int:
    d = (await rt.start(guild, 5, MOD, question, template="quick")).deliberation
    await rt.act(guild, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays free the weekend", at))
    await rt.act(guild, d.id, lambda d, at: d.state_position(BEN, "No", "I work on Fridays", at))
    clock.advance(15)
    await rt.act(guild, d.id, lambda d, at: d.advance(MOD, at))
    await rt.act(guild, d.id, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await rt.act(guild, d.id, lambda d, at: d.give_consent(BEN, ConsentChoice.BLOCK, at, reason="Shift work"))
    clock.advance(15)
    await rt.act(guild, d.id, lambda d, at: d.advance(MOD, at))
    return d.id


async def test_migrations_set_user_version_wal_and_foreign_keys(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        assert await store.schema_version() == migrations()[-1][0]
        assert await store.migrate() == (migrations()[-1][0],) * 2  # idempotent
    finally:
        await store.close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "deliberations", "contributions", "decision_records", "guild_settings"} <= tables
    conn.close()


async def test_close_and_reopen_mid_deliberation_loses_nothing(settings: Settings, clock: ManualClock) -> None:
    rt = await Roundtable.open(settings, clock)
    d = (await rt.start(GUILD, 5, MOD, "Move the meetup?", template="consent")).deliberation
    pos = await rt.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays", at))
    (pid,) = pos.added()
    await rt.act(GUILD, d.id, lambda d, at: d.edit_contribution(ADA, pid, "Fridays, after six", at))
    clock.advance(11)
    await rt.act(GUILD, d.id, lambda d, at: d.advance(MOD, at))
    await rt.act(GUILD, d.id, lambda d, at: d.vote(BEN, pid, Vote.DISAGREE, at))
    await rt.act(GUILD, d.id, lambda d, at: d.object(BEN, "Excludes shift workers", "Evenings", at))
    await rt.close()

    again = await Roundtable.open(settings, clock)
    try:
        restored = await again.get(GUILD, d.id)
        assert restored.round.kind.value == "dissent"
        assert restored.contributions[pid].text == "Fridays, after six"
        assert [r.text for r in restored.contributions[pid].history] == ["Fridays"]
        assert restored.tally(pid)[Vote.DISAGREE] == 1
        assert [o.why for o in restored.objections.values()] == ["Evenings"]
        assert await again.deadlines(GUILD) == [(d.id, restored.round.deadline)]
    finally:
        await again.close()


async def test_a_failure_inside_a_transaction_leaves_nothing_half_written(roundtable: Roundtable) -> None:
    d = (await roundtable.start(GUILD, 5, MOD, "Fridays?")).deliberation
    counts = await roundtable.store.counts()

    async def half_then_crash() -> None:
        async with roundtable.store.transaction() as db:
            await db.execute(
                "INSERT INTO contributions (deliberation_id, id, guild_id, kind, author, author_kind, text,"
                " created_at) VALUES (?, 99, ?, 'position', 'human:1', 'human', 'half', 'now')",
                (d.id, GUILD),
            )
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        await half_then_crash()
    assert await roundtable.store.counts() == counts
    async with roundtable.store._conn.execute("SELECT count(*) FROM contributions") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_a_failed_append_writes_no_event_and_the_next_action_sees_disk(roundtable: Roundtable) -> None:
    d = (await roundtable.start(GUILD, 5, MOD, "Fridays?")).deliberation
    before = await roundtable.store.counts()
    # A real failure half-way through the transaction: the events are written, the row is not.
    await roundtable.store._conn.execute(
        "CREATE TRIGGER fail_contributions BEFORE INSERT ON contributions BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        await roundtable.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays", at))
    await roundtable.store._conn.execute("DROP TRIGGER fail_contributions")
    assert await roundtable.store.counts() == before
    assert (await roundtable.get(GUILD, d.id)).positions() == []
    await roundtable.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays", at))
    assert [c.text for c in (await roundtable.get(GUILD, d.id)).positions()] == ["Fridays"]
    assert await roundtable.store.verify() == []


async def test_a_refused_action_stores_no_event_and_no_row(roundtable: Roundtable) -> None:
    d = (await roundtable.start(GUILD, 5, MOD, "Fridays?")).deliberation
    before = await roundtable.store.counts()
    for bad in (
        lambda d, at: d.state_position(ADA, "Yes", "   ", at),
        lambda d, at: d.advance(ADA, at),
        lambda d, at: d.give_consent(ADA, ConsentChoice.BLOCK, at),
        lambda d, at: d.vote(Actor.ai("Sage"), 1, Vote.AGREE, at),
    ):
        with pytest.raises(errors.RoundtableError):
            await roundtable.act(GUILD, d.id, bad)
    assert await roundtable.store.counts() == before


async def test_guild_isolation(roundtable: Roundtable, clock: ManualClock) -> None:
    mine = await sealed_quick(roundtable, clock, GUILD, "Fridays for us?")
    theirs = await sealed_quick(roundtable, clock, OTHER_GUILD, "Fridays for them?")
    with pytest.raises(errors.NotFound):
        await roundtable.get(OTHER_GUILD, mine)
    with pytest.raises(errors.NotFound):
        await roundtable.act(OTHER_GUILD, mine, lambda d, at: d.cancel(MOD, "x", at))
    with pytest.raises(errors.NotFound):
        await roundtable.record(GUILD, theirs)
    assert [r.deliberation_id for r in await roundtable.store.list_records(GUILD)] == [mine]
    assert [r.deliberation_id for r in await roundtable.store.search_records(GUILD, "Fridays")] == [mine]
    assert [r.deliberation_id async for r in roundtable.store.all_records(OTHER_GUILD)] == [theirs]


async def test_sealed_record_stores_the_chain_head_and_verifies(roundtable: Roundtable, clock: ManualClock) -> None:
    d_id = await sealed_quick(roundtable, clock)
    stored = await roundtable.record(GUILD, d_id)
    async with roundtable.store._conn.execute(
        "SELECT hash FROM events WHERE deliberation_id = ? ORDER BY seq DESC LIMIT 1", (d_id,)
    ) as cur:
        assert stored.chain_head == (await cur.fetchone())[0]
    assert stored.record["chain_head"] == stored.chain_head
    assert stored.record["outcome"]["kind"] == "no_consensus"
    assert "> Shift work" in stored.markdown
    assert await roundtable.store.verify() == []


async def test_events_are_append_only_for_the_application(roundtable: Roundtable) -> None:
    await roundtable.start(GUILD, 5, MOD, "Fridays?")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await roundtable.store._conn.execute("UPDATE events SET payload = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await roundtable.store._conn.execute("DELETE FROM events")


def tamper(db_path: Path, *statements: str) -> None:
    """What someone with the file could do: drop the guards and change rows."""
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    for statement in statements:
        conn.executescript(statement)
    conn.commit()
    conn.close()


async def _problems(db_path: Path) -> list[str]:
    store = await Store.open(db_path)
    try:
        return await store.verify()
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "UPDATE events SET payload = replace(payload, 'Shift work', 'No reason') WHERE kind = 'consent.given'",
            "was altered",
        ),
        ("DELETE FROM events WHERE seq = 4 AND stream = 'd:1'", "event is missing"),
        (
            "UPDATE events SET seq = -1 WHERE stream = 'd:1' AND seq = 4;"
            "UPDATE events SET seq = 4 WHERE stream = 'd:1' AND seq = 5;"
            "UPDATE events SET seq = 5 WHERE stream = 'd:1' AND seq = -1",
            "does not follow",
        ),
        ("UPDATE events SET actor = 'human:99' WHERE stream = 'd:1' AND seq = 4", "was altered"),
    ],
)
async def test_verify_names_the_first_bad_event(
    settings: Settings, clock: ManualClock, db_path: Path, statement: str, expected: str
) -> None:
    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock)
    await rt.close()
    assert await _problems(db_path) == []
    tamper(db_path, statement)
    problems = await _problems(db_path)
    assert problems
    assert problems[0].startswith("d:1: event ")
    assert expected in problems[0]


async def test_verify_catches_an_edited_record(settings: Settings, clock: ManualClock, db_path: Path) -> None:
    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock)
    await rt.close()
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE decision_records SET markdown = replace(markdown, 'Shift work', 'Fine by me')")
    conn.commit()
    conn.close()
    problems = await _problems(db_path)
    assert problems[0].startswith("decision_records #1: column markdown is ")
    assert "Fine by me" in problems[0]


async def test_guild_settings_are_events_in_the_guild_chain(roundtable: Roundtable) -> None:
    assert (await roundtable.guild_settings(GUILD)).moderator_role_id is None
    await roundtable.configure_guild(GUILD, 10, moderator_role_id=555, archive_channel_id=777)
    await roundtable.configure_guild(GUILD, 10, ai_enabled=False)
    s = await roundtable.guild_settings(GUILD)
    assert (s.moderator_role_id, s.archive_channel_id, s.ai_enabled) == (555, 777, False)
    assert (await roundtable.guild_settings(OTHER_GUILD)).archive_channel_id is None
    async with roundtable.store._conn.execute("SELECT count(*) FROM events WHERE stream = ?", (f"g:{GUILD}",)) as cur:
        assert (await cur.fetchone())[0] == 2
    assert await roundtable.store.verify() == []


async def test_ai_off_for_the_guild_seats_no_ai(roundtable: Roundtable) -> None:
    await roundtable.configure_guild(GUILD, 10, ai_enabled=False)
    d = (await roundtable.start(GUILD, 5, MOD, "Fridays?")).deliberation
    assert d.ai_seats == {}
    d2 = (await roundtable.start(OTHER_GUILD, 5, MOD, "Fridays?")).deliberation
    assert list(d2.ai_seats) == ["Sage"]


async def test_search_finds_every_word_newest_first(roundtable: Roundtable, clock: ManualClock) -> None:
    first = await sealed_quick(roundtable, clock, GUILD, "Fridays for the meetup?")
    second = await sealed_quick(roundtable, clock, GUILD, "A new projector?")
    third = await sealed_quick(roundtable, clock, GUILD, "Thursdays for the meetup?")
    found = await roundtable.store.search_records(GUILD, "fridays")  # every record quotes a Friday position
    assert [r.deliberation_id for r in found] == [third, second, first]
    assert [r.deliberation_id for r in await roundtable.store.search_records(GUILD, "meetup")] == [third, first]
    assert [r.deliberation_id for r in await roundtable.store.search_records(GUILD, "meetup thursdays")] == [third]
    assert await roundtable.store.search_records(GUILD, "fridays", limit=1) == found[:1]
    with pytest.raises(errors.EmptyText):
        await roundtable.store.search_records(GUILD, "   ")


async def test_the_sealing_event_holds_the_record_digest(settings: Settings, clock: ManualClock, db_path: Path) -> None:
    rt = await Roundtable.open(settings, clock)
    d_id = await sealed_quick(rt, clock)
    stored = await rt.record(GUILD, d_id)
    await rt.close()
    conn = sqlite3.connect(db_path)
    payload = conn.execute("SELECT payload FROM events WHERE kind = 'deliberation.sealed'").fetchone()[0]
    assert json.loads(payload)["record_digest"] == record_digest(stored.record)
    # Someone with the file rewrites the record, marks it as an older format (which verify does
    # not recompose) and recomputes the digest column: the chain still holds the true digest.
    forged = {**stored.record, "format": 0, "question": "Fridays? (forged)"}
    conn.execute(
        "UPDATE decision_records SET record_json = ?, digest = ?", (canonical_json(forged), record_digest(forged))
    )
    conn.commit()
    conn.close()
    assert await _problems(db_path) == [f"decision_records #{d_id}: column digest is not what its sealing event sealed"]


async def test_records_sealed_by_an_older_composer_still_verify(
    settings: Settings, clock: ManualClock, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock)
    await rt.close()
    # A later release changes what records look like (a new format); this archive's records stay valid.
    monkeypatch.setattr("bot.store.verify.RECORD_FORMAT", RECORD_FORMAT + 1)
    monkeypatch.setattr("bot.store.verify.compose_record", lambda d: {"something": "else"})
    assert await _problems(db_path) == []
