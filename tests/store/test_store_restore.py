"""What a start and a lookup read without replaying deliberations (migration 0003): AI due times,
every guild's deadlines in one query, the open deliberation of a thread or channel."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.config import Settings
from bot.engine import Actor, Role
from bot.service import Roundtable
from bot.store import Store
from bot.store.store import MAX_IN, OpenHere, migrations
from tests.conftest import ManualClock
from tests.store.test_store import ADA, BEN, GUILD, MOD, OTHER_GUILD

SAGE = Actor.ai("Sage")
META = {"model": "smollm2-135m"}


async def test_ai_due_at_follows_the_engine(roundtable: Roundtable, clock: ManualClock) -> None:
    rt = roundtable
    d = (await rt.start(GUILD, 5, MOD, "Fridays?", template="quick")).deliberation
    half = d.ai_due_at()
    assert half == d.round.opened_at + timedelta(minutes=30)
    assert await rt.ai_due_times([GUILD]) == {GUILD: [(d.id, half)]}

    # Nobody due before half-time while a member is still to speak.
    await rt.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays", at))
    await rt.act(GUILD, d.id, lambda d, at: d.join(BEN, Role.PARTICIPANT, at))
    assert await rt.ai_due_times([GUILD]) == {GUILD: [(d.id, half)]}

    # Every member has spoken: due from that action on.
    clock.advance(5)
    await rt.act(GUILD, d.id, lambda d, at: d.state_position(BEN, "No", "Not Fridays", at))
    assert await rt.ai_due_times([GUILD]) == {GUILD: [(d.id, clock.now)]}

    # The AI has spoken: nothing to wait for.
    await rt.act(GUILD, d.id, lambda d, at: d.ai_position(SAGE, "Either", "Both work", at, meta=META))
    assert await rt.ai_due_times([GUILD]) == {}

    # A deliberation without AI seats never appears; neither does another guild's.
    await rt.start(GUILD, 5, MOD, "No AI?", template="quick", ai=False)
    other = (await rt.start(OTHER_GUILD, 5, MOD, "Elsewhere?", template="quick")).deliberation
    assert await rt.ai_due_times([GUILD]) == {}
    assert await rt.ai_due_times([OTHER_GUILD]) == {OTHER_GUILD: [(other.id, other.ai_due_at())]}


async def test_the_moderator_asking_makes_the_ai_due_at_once(roundtable: Roundtable, clock: ManualClock) -> None:
    d = (await roundtable.start(GUILD, 5, MOD, "Fridays?", template="quick")).deliberation
    clock.advance(1)
    await roundtable.act(GUILD, d.id, lambda d, at: d.request_ai(MOD, at))
    assert await roundtable.ai_due_times([GUILD]) == {GUILD: [(d.id, clock.now)]}


async def test_open_deadlines_of_the_guilds_asked_only_in_chunks(roundtable: Roundtable, clock: ManualClock) -> None:
    rt = roundtable
    mine = [(await rt.start(GUILD, 5, MOD, f"Q{i}?")).deliberation for i in range(3)]
    theirs = (await rt.start(OTHER_GUILD, 5, MOD, "Theirs?")).deliberation
    await rt.act(GUILD, mine[1].id, lambda d, at: d.cancel(MOD, "Not needed", at))
    expected = {GUILD: [(d.id, d.round.deadline) for d in (mine[2], mine[0])]}
    assert await rt.deadlines_in([GUILD]) == expected
    # Per guild as before, newest first.
    assert await rt.deadlines(GUILD) == expected[GUILD]
    # More guilds than one statement takes: every chunk is asked; a guild not asked is not answered.
    many = [GUILD, *range(1, 2 * MAX_IN + 10)]
    assert await rt.deadlines_in(many) == expected
    both = {**expected, OTHER_GUILD: [(theirs.id, theirs.round.deadline)]}
    assert await rt.deadlines_in([*many, OTHER_GUILD]) == both
    assert await rt.deadlines_in([]) == {}


async def test_the_open_deliberation_of_a_thread_or_channel(roundtable: Roundtable) -> None:
    rt, store = roundtable, roundtable.store
    threaded = (await rt.start(GUILD, 5, MOD, "In a thread?")).deliberation
    await store.set_location(GUILD, threaded.id, channel_id=5, thread_id=50)
    older = (await rt.start(GUILD, 5, MOD, "In the channel?")).deliberation
    newer = (await rt.start(GUILD, 5, MOD, "Also in the channel?")).deliberation
    assert await store.open_deliberation_at(GUILD, 50) == OpenHere(threaded.id, in_thread=True)
    assert await store.open_deliberation_at(GUILD, 5) == OpenHere(newer.id, in_thread=False)
    await rt.act(GUILD, newer.id, lambda d, at: d.cancel(MOD, "Not needed", at))
    assert await store.open_deliberation_at(GUILD, 5) == OpenHere(older.id, in_thread=False)
    assert await store.open_deliberation_at(OTHER_GUILD, 5) is None
    assert await store.open_deliberation_at(GUILD, 6) is None
    assert await store.open_deliberation_at(GUILD, None) is None  # an interaction outside any channel
    await rt.act(GUILD, threaded.id, lambda d, at: d.cancel(MOD, "Not needed", at))
    assert await store.open_deliberation_at(GUILD, 50) is None


async def test_start_and_lookup_queries_use_indexes(roundtable: Roundtable) -> None:
    await roundtable.start(GUILD, 5, MOD, "Fridays?")
    conn = sqlite3.connect(roundtable.store.path)
    try:
        plans = {
            "thread": "SELECT id FROM deliberations WHERE guild_id = 1 AND thread_id IS 5 AND status = 'open'"
            " ORDER BY id DESC LIMIT 1",
            "channel": "SELECT id FROM deliberations WHERE guild_id = 1 AND channel_id = 5 AND status = 'open'"
            " AND thread_id IS NULL ORDER BY id DESC LIMIT 1",
            "deadlines": "SELECT guild_id, id, deadline_at FROM deliberations WHERE guild_id IN (1, 2)"
            " AND status = 'open' AND deadline_at IS NOT NULL ORDER BY guild_id, id DESC",
        }
        details = {
            name: " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")) for name, sql in plans.items()
        }
    finally:
        conn.close()
    assert "deliberations_by_thread" in details["thread"]
    assert "deliberations_by_channel" in details["channel"]
    assert "deliberations_by_guild_status" in details["deadlines"]
    assert not any("SCAN" in detail for detail in details.values()), details


# --------------------------------------------------------------------------- upgrading a version-2 file


def _downgrade_to_version_2(path: Path) -> None:
    """The file as version 2 left it: the same tables without what migrations 0003, 0004 and 0005 added."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE outbox")  # 0005
    _undo_0004(conn)
    conn.execute("DROP INDEX deliberations_by_thread")
    conn.execute("DROP INDEX deliberations_by_channel")
    conn.execute("ALTER TABLE deliberations DROP COLUMN ai_due_at")
    conn.execute("PRAGMA user_version = 2")
    conn.close()


def _undo_0004(conn: sqlite3.Connection) -> None:
    """What migration 0004 added: ledgers, recorded heads and keys, the records' signatures."""
    (guard,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_no_delete'").fetchone()
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE stream LIKE 'l:%'")
    conn.execute(guard)
    conn.execute("DROP TABLE stream_heads")
    conn.execute("DROP TABLE signing_keys")
    for column in ("seal_seq", "key_id", "signature"):
        conn.execute(f"ALTER TABLE decision_records DROP COLUMN {column}")


async def test_a_version_2_file_upgrades_with_ai_due_times_from_its_events(
    settings: Settings, clock: ManualClock
) -> None:
    assert [number for number, _, _ in migrations()][:3] == [1, 2, 3]
    rt = await Roundtable.open(settings, clock)
    waiting = (await rt.start(GUILD, 5, MOD, "AI still to speak?", template="quick")).deliberation
    await rt.store.set_location(GUILD, waiting.id, channel_id=5, thread_id=50)
    spoken = (await rt.start(GUILD, 5, MOD, "AI has spoken?", template="quick")).deliberation
    await rt.act(GUILD, spoken.id, lambda d, at: d.request_ai(MOD, at))
    await rt.act(GUILD, spoken.id, lambda d, at: d.ai_position(SAGE, "Either", "Both", at, meta=META))
    await rt.start(GUILD, 5, MOD, "No AI?", template="quick", ai=False)
    moved_on = (await rt.start(GUILD, 5, MOD, "Past positions?", template="quick")).deliberation
    clock.advance(15)
    await rt.act(GUILD, moved_on.id, lambda d, at: d.advance(MOD, at))
    await rt.close()
    _downgrade_to_version_2(settings.database.path)

    store = await Store.open(settings.database.path)
    try:
        assert await store.schema_version() == migrations()[-1][0] >= 3
        # The round's opening, the earliest the AI could be due: its timer fires on the next start,
        # which loads it and asks the engine, as every start did before.
        assert await store.ai_due_times([GUILD]) == {GUILD: [(waiting.id, waiting.round.opened_at)]}
        assert await store.open_deliberation_at(GUILD, 50) == OpenHere(waiting.id, in_thread=True)
        assert await store.verify() == []
    finally:
        await store.close()

    # The next action stores the exact time: half-time while a member is still to speak.
    rt = await Roundtable.open(settings, clock)
    try:
        await rt.act(GUILD, waiting.id, lambda d, at: d.join(ADA, Role.PARTICIPANT, at))
        assert await rt.ai_due_times([GUILD]) == {GUILD: [(waiting.id, waiting.ai_due_at())]}
    finally:
        await rt.close()
