"""Store behaviour changed for the benchmark's goals: concurrent writers, one-round-trip append,
guild-scoped search (migration 0002) and keyset paging of records."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.engine import Actor, errors
from bot.engine.deliberation import Deliberation
from bot.engine.events import owed_posts
from bot.service import Roundtable
from bot.store import Store
from bot.store.store import migrations
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, MOD, OTHER_GUILD, sealed_quick


async def test_actions_on_different_deliberations_at_once_all_land(roundtable: Roundtable) -> None:
    """One shared connection: a second writer waits for the first instead of failing mid-transaction."""
    ids = [(await roundtable.start(GUILD, 5, MOD, f"Question {i}?")).deliberation.id for i in range(8)]
    changes = await asyncio.gather(
        *(
            roundtable.act(
                GUILD, d_id, lambda d, at, n=n: d.state_position(Actor.human(100 + n), "Yes", f"Reason {n}", at)
            )
            for n, d_id in enumerate(ids)
        ),
        *(roundtable.start(GUILD, 5, MOD, f"Another {i}?") for i in range(4)),
    )
    assert len(changes) == 12
    for n, d_id in enumerate(ids):
        reloaded = await roundtable.store.load_events(GUILD, d_id)
        assert reloaded[-1].payload.text == f"Reason {n}"
    assert await roundtable.store.verify() == []


async def test_append_to_another_guilds_deliberation_writes_nothing(roundtable: Roundtable) -> None:
    d = (await roundtable.start(GUILD, 5, MOD, "Fridays?")).deliberation
    events = d.state_position(Actor.human(11), "Yes", "Fridays", roundtable.now())
    before = await roundtable.store.counts()
    with pytest.raises(errors.NotFound):
        await roundtable.store.append(2002, d.id, events, status="open", round_kind="positions", deadline_at=None)
    assert await roundtable.store.counts() == before
    # The connection is left usable: no transaction is still open.
    after = Deliberation.from_events(d.id, GUILD, [*await roundtable.store.load_events(GUILD, d.id), *events])
    head = await roundtable.store.append(
        GUILD,
        d.id,
        events,
        status="open",
        round_kind="positions",
        deadline_at=d.round.deadline,
        contributions=after.contributions.values(),
        owed=owed_posts(events),  # what the service passes: verify asks for every owed post's row
    )
    assert len(head) == 64
    assert await roundtable.store.verify() == []


# --------------------------------------------------------------------------- records: migration 0002, paging


def _v1_file(path: Path, records: list[tuple[int, int, str, str]]) -> None:
    """A file as version 1 left it: (id, guild, question, markdown) records, searchable the old way."""
    conn = sqlite3.connect(path, isolation_level=None)
    number, _, sql = migrations()[0]
    assert number == 1
    conn.executescript(sql)
    conn.execute("PRAGMA user_version = 1")
    for deliberation_id, guild_id, question, markdown in records:
        sealed_at = f"2026-03-01T12:{deliberation_id:02d}:00+00:00"
        conn.execute(
            "INSERT INTO deliberations (id, guild_id, question, template, status, created_at) VALUES"
            " (?, ?, ?, 'quick', 'closed', ?)",
            (deliberation_id, guild_id, question, sealed_at),
        )
        conn.execute(
            "INSERT INTO decision_records (deliberation_id, guild_id, question, outcome, sealed_at, chain_head,"
            " digest, record_json, markdown) VALUES (?, ?, ?, 'consensus', ?, 'h', 'd', '{}', ?)",
            (deliberation_id, guild_id, question, sealed_at, markdown),
        )
        conn.execute(
            "INSERT INTO decision_records_fts (rowid, question, markdown) VALUES (?, ?, ?)",
            (deliberation_id, question, markdown),
        )
    conn.close()


async def test_a_version_1_file_upgrades_and_its_records_stay_searchable_per_guild(db_path: Path) -> None:
    _v1_file(
        db_path,
        [
            (1, GUILD, "Garden on Fridays?", "# Record\n\nWe agreed on the garden."),
            (2, OTHER_GUILD, "Garden on Mondays?", "# Record\n\nThe garden, but Mondays."),
            (3, GUILD, "Budget?", "# Record\n\nNothing about plants."),
        ],
    )
    store = await Store.open(db_path)
    try:
        assert await store.schema_version() == migrations()[-1][0] >= 2
        assert [r.deliberation_id for r in await store.search_records(GUILD, "garden")] == [1]
        assert [r.deliberation_id for r in await store.search_records(OTHER_GUILD, "garden")] == [2]
        assert [r.deliberation_id for r in await store.search_records(GUILD, "record")] in ([1, 3], [3, 1])
        # The guild id is for scoping only: searching for it finds nothing.
        assert await store.search_records(GUILD, str(GUILD)) == []
        # What the old version could not stand either: a word with a quote in it.
        assert await store.search_records(GUILD, 'gar"den') == []
    finally:
        await store.close()


async def test_records_sealed_after_the_upgrade_are_found_in_their_own_guild_only(
    roundtable: Roundtable, clock: ManualClock
) -> None:
    mine = await sealed_quick(roundtable, clock, GUILD, "Picnic on Fridays?")
    theirs = await sealed_quick(roundtable, clock, OTHER_GUILD, "Picnic on Sundays?")
    assert [r.deliberation_id for r in await roundtable.store.search_records(GUILD, "picnic")] == [mine]
    assert [r.deliberation_id for r in await roundtable.store.search_records(OTHER_GUILD, "picnic")] == [theirs]
    assert [r.deliberation_id for r in await roundtable.store.search_records(GUILD, "Picnic Fridays")] == [mine]
    assert await roundtable.store.search_records(GUILD, "Sundays") == []
    assert await roundtable.store.verify() == []


async def test_paging_through_records_visits_each_once_in_order_even_with_equal_times(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    # Sealed out of id order, with ties: the order is sealed time, then id, newest first.
    times = [5, 3, 3, 9, 1, 3, 7, 7, 2, 8, 6, 4]
    for deliberation_id, minute in enumerate(times, start=1):
        sealed_at = f"2026-03-01T12:{minute:02d}:00+00:00"
        conn.execute(
            "INSERT INTO deliberations (id, guild_id, question, template, status, created_at) VALUES"
            " (?, ?, 'Q?', 'quick', 'closed', ?)",
            (deliberation_id, GUILD, sealed_at),
        )
        conn.execute(
            "INSERT INTO decision_records (deliberation_id, guild_id, question, outcome, sealed_at, chain_head,"
            " digest, record_json, markdown) VALUES (?, ?, 'Q?', 'consensus', ?, 'h', 'd', '{}', 'm')",
            (deliberation_id, GUILD, sealed_at),
        )
    conn.close()
    expected = sorted(range(1, len(times) + 1), key=lambda i: (times[i - 1], i), reverse=True)
    store = await Store.open(db_path)
    try:
        seen: list[int] = []
        page = await store.list_records(GUILD, limit=5)
        while page:
            seen += [r.deliberation_id for r in page]
            page = await store.list_records(GUILD, limit=5, before=page[-1].deliberation_id)
        assert seen == expected
        assert await store.list_records(OTHER_GUILD, before=expected[0]) == []
    finally:
        await store.close()


async def test_listing_and_searching_use_indexes(roundtable: Roundtable, clock: ManualClock) -> None:
    await sealed_quick(roundtable, clock, GUILD, "Picnic on Fridays?")
    seen: list[str] = []
    conn = roundtable.store._conn
    await conn.set_trace_callback(seen.append)
    await roundtable.store.list_records(GUILD)
    await roundtable.store.list_records(GUILD, before=1)
    await roundtable.store.search_records(GUILD, "picnic")
    await conn.set_trace_callback(None)
    plans = []
    for sql in (s for s in seen if s.lstrip().upper().startswith("SELECT")):
        async with conn.execute("EXPLAIN QUERY PLAN " + sql) as cur:
            plans += [row[3] async for row in cur]
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 3
    assert not [step for step in plans if step.startswith("SCAN") and "VIRTUAL TABLE" not in step], plans
