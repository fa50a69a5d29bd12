"""Group commit: concurrent writes into different deliberations share a transaction, and nothing is lost.

Real SQLite files; the writers are real `Roundtable.act` calls (decide, append, answer).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Actor, errors
from bot.service import Roundtable
from bot.store import Store
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, MOD, OTHER_GUILD

ROOT = Path(__file__).resolve().parents[2]


def member(i: int) -> Actor:
    return Actor.human(1000 + i, f"Member {i}")


async def _open(rt: Roundtable, count: int, guild: int = GUILD) -> list[int]:
    return [(await rt.start(guild, 5, MOD, f"Question {i}?")).deliberation.id for i in range(count)]


async def _position(rt: Roundtable, guild: int, deliberation_id: int, who: int) -> int:
    actor = member(who)
    change = await rt.act(guild, deliberation_id, lambda d, at: d.state_position(actor, "Yes", f"Reason {who}", at))
    (added,) = change.added()
    return added


async def _stored_reasons(db: Path) -> set[tuple[int, str]]:
    return _stored(db)


def _stored(db: Path) -> set[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute("SELECT deliberation_id, text FROM contributions"))
    finally:
        conn.close()


async def test_fifty_concurrent_writers_share_transactions_and_every_write_is_stored(
    roundtable: Roundtable, db_path: Path
) -> None:
    rt = roundtable
    ids = await _open(rt, 25) + await _open(rt, 25, OTHER_GUILD)
    guilds = [GUILD] * 25 + [OTHER_GUILD] * 25
    batches, writes = rt.store.group.batches, rt.store.group.writes

    waves = 4
    for wave in range(waves):
        await asyncio.gather(
            *(_position(rt, g, d, wave * 100 + i) for i, (g, d) in enumerate(zip(guilds, ids, strict=True)))
        )

    stored = await _stored_reasons(db_path)
    expected = {(d, f"Reason {wave * 100 + i}") for wave in range(waves) for i, d in enumerate(ids)}
    assert stored == expected
    # Shared: far fewer transactions than writes (each wave's 50 arrive while one is committing).
    assert rt.store.group.writes - writes == 50 * waves
    assert rt.store.group.batches - batches < 50 * waves / 5
    assert await rt.store.verify() == []
    for g, d in zip(guilds, ids, strict=True):
        assert len((await rt.get(g, d)).positions()) == waves


async def test_a_write_that_fails_in_a_shared_transaction_loses_no_other_write(
    roundtable: Roundtable, db_path: Path
) -> None:
    rt = roundtable
    ids = await _open(rt, 10)
    doomed = ids[3]
    # A real failure inside the shared transaction, for one deliberation's write only.
    await rt.store._conn.execute(
        "CREATE TRIGGER fail_one BEFORE INSERT ON contributions"
        f" WHEN NEW.deliberation_id = {doomed} BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    batches, writes = rt.store.group.batches, rt.store.group.writes
    events_before = len(await rt.store.load_events(GUILD, doomed))

    results = await asyncio.gather(*(_position(rt, GUILD, d, i) for i, d in enumerate(ids)), return_exceptions=True)

    assert rt.store.group.batches - batches == 1  # all ten writes were in one transaction
    assert rt.store.group.writes - writes == 10
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1
    assert isinstance(failed[0], sqlite3.IntegrityError)
    assert "disk full" in str(failed[0])
    assert results[3] is failed[0]
    await rt.store._conn.execute("DROP TRIGGER fail_one")

    # The others are stored with their events; the failed one left nothing behind, not even its events.
    assert await _stored_reasons(db_path) == {(d, f"Reason {i}") for i, d in enumerate(ids) if d != doomed}
    assert (await rt.get(GUILD, doomed)).positions() == []
    assert len(await rt.store.load_events(GUILD, doomed)) == events_before
    # The failed member tries again and is stored; the chains verify.
    await _position(rt, GUILD, doomed, 3)
    assert (doomed, "Reason 3") in await _stored_reasons(db_path)
    assert await rt.store.verify() == []


async def test_a_refusal_in_one_write_of_a_batch_is_that_callers_alone(settings: Settings, clock: ManualClock) -> None:
    rt = await Roundtable.open(settings, clock)
    try:
        ids = await _open(rt, 5)
        missing = 987_654

        async def position_elsewhere() -> None:
            # The store refuses a deliberation that is not the guild's, inside the shared transaction.
            await rt.store.set_location(GUILD, missing, channel_id=1, thread_id=2)

        results = await asyncio.gather(
            *(_position(rt, GUILD, d, i) for i, d in enumerate(ids)), position_elsewhere(), return_exceptions=True
        )
        assert isinstance(results[-1], errors.NotFound)
        assert all(isinstance(r, int) for r in results[:-1])
        assert await rt.store.verify() == []
    finally:
        await rt.close()


async def test_a_transaction_that_cannot_commit_fails_every_caller_in_it_and_stores_nothing(
    roundtable: Roundtable, db_path: Path
) -> None:
    rt = roundtable
    ids = await _open(rt, 6)
    before = await rt.store.counts()
    # Another process holds the write lock past the busy timeout: BEGIN IMMEDIATE fails for the batch.
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        await (await rt.store._conn.execute("PRAGMA busy_timeout = 50")).close()
        results = await asyncio.gather(*(_position(rt, GUILD, d, i) for i, d in enumerate(ids)), return_exceptions=True)
    finally:
        other.execute("ROLLBACK")
        other.close()
    # "database is locked" reaches members as the busy refusal ("nothing was recorded, try again").
    assert all(isinstance(r, errors.DatabaseBusy) for r in results), results
    assert all(isinstance(r.__cause__, sqlite3.OperationalError) for r in results), results
    assert await rt.store.counts() == before
    # Nothing was applied in memory either: the next actions start from disk and succeed.
    await asyncio.gather(*(_position(rt, GUILD, d, i) for i, d in enumerate(ids)))
    assert [len((await rt.get(GUILD, d)).positions()) for d in ids] == [1] * len(ids)
    assert await rt.store.verify() == []


@pytest.mark.parametrize("acks_before_kill", [37, 400])
def test_a_kill_in_the_middle_of_shared_transactions_loses_nothing_acknowledged(
    tmp_path: Path, acks_before_kill: int
) -> None:
    db = tmp_path / "roundtable.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.burst_writer", str(db), "20"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    acknowledged: set[tuple[int, str]] = set()
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
        while len(acknowledged) < acks_before_kill:
            line = child.stdout.readline()
            assert line, child.stderr.read() if child.stderr else ""
            _, deliberation_id, who = line.split()
            acknowledged.add((int(deliberation_id), f"Reason {who}"))
        child.send_signal(signal.SIGKILL)  # mid-wave: some writes queued, one batch perhaps mid-commit
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()

    stored = _stored(db)
    assert acknowledged <= stored
    assert asyncio.run(_verify(db)) == []


async def _verify(db: Path) -> list[str]:
    store = await Store.open(db)
    try:
        return await store.verify()
    finally:
        await store.close()
