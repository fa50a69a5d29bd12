"""Storage lost mid-run: the stores raise StorageUnavailable, store nothing, and work again once it is back.

Real failures only: a private PostgreSQL server crashed with `pg_ctl stop -m immediate` (the
session's server is never stopped), and for SQLite the kernel refusing the file's writes
(RLIMIT_FSIZE: every write past the first byte fails with EFBIG, which SQLite reports as a disk
I/O error), its page limit reached ("database or disk is full") and the connection made
read-only. No mocks.
"""

from __future__ import annotations

import asyncio
import resource
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Protocol

import asyncpg
import pytest

from bot.config import Settings
from bot.engine import Actor, errors
from bot.engine.errors import STORAGE_UNAVAILABLE, STORAGE_UNCERTAIN
from bot.service import Roundtable
from bot.store.faults import sqlite_fault
from bot.store.pg import PgStore, pg_fault
from bot.store.url import sqlite_url
from tests import postgres
from tests.conftest import ManualClock
from tests.postgres import PostgresServer
from tests.store.test_store import GUILD, MOD


@pytest.fixture(scope="module")
def private_server() -> Iterator[PostgresServer]:
    with postgres.private_server() as server:
        yield server


@pytest.fixture
def database_url(backend: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("private_server")
        return server.create_database()
    return sqlite_url(db_path)


class Loss(Protocol):
    """Storage going away (`begin`) and coming back (`end`)."""

    def begin(self) -> None: ...
    def end(self) -> None: ...


class ServerCrash:
    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.down = False

    def begin(self) -> None:
        self.server.crash()
        self.down = True

    def end(self) -> None:
        if self.down:
            self.server.resume()
            self.down = False


class WritesRefused:
    """The kernel refuses every write of this process past a file's first byte (EFBIG). Process-wide,
    so the window must be short: nothing else (pytest's output included) can write while it lasts."""

    def __init__(self) -> None:
        self.saved: tuple[int, int] | None = None
        self.handler: signal._HANDLER = signal.SIG_DFL

    def begin(self) -> None:
        self.handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a killed process
        self.saved = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, self.saved[1]))

    def end(self) -> None:
        if self.saved is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, self.saved)
            self.saved = None
            signal.signal(signal.SIGXFSZ, self.handler)


@pytest.fixture
def loss(backend: str, request: pytest.FixtureRequest) -> Iterator[Loss]:
    lost: Loss = ServerCrash(request.getfixturevalue("private_server")) if backend == "postgresql" else WritesRefused()
    try:
        yield lost
    finally:
        lost.end()


@pytest.fixture
async def service(settings: Settings, clock: ManualClock) -> AsyncIterator[Roundtable]:
    rt = await Roundtable.open(settings, clock)
    try:
        yield rt
    finally:
        await rt.close()


def member(i: int) -> Actor:
    return Actor.human(2000 + i, f"Member {i}")


async def _position(rt: Roundtable, deliberation_id: int, who: int, text: str = "") -> int:
    actor = member(who)
    reason = text or f"Reason {who}"
    change = await rt.act(GUILD, deliberation_id, lambda d, at: d.state_position(actor, "Yes", reason, at))
    (added,) = change.added()
    return added


def _outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.store.faults"]
    return sum("is unavailable" in m for m in messages), sum("available again" in m for m in messages)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_an_action_while_storage_is_lost_stores_nothing_and_the_same_action_works_once_it_is_back(
    service: Roundtable, loss: Loss, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    rt = service
    deliberation_id = (await rt.start(GUILD, 5, MOD, "Fridays?")).deliberation.id
    await _position(rt, deliberation_id, 1)
    events_before = len(await rt.store.load_events(GUILD, deliberation_id))
    counts_before = await rt.store.counts()

    loss.begin()
    try:
        with pytest.raises(errors.StorageUnavailable) as refused:
            await _position(rt, deliberation_id, 2)
    finally:
        loss.end()
    assert refused.value.user_message == STORAGE_UNAVAILABLE
    assert not refused.value.uncertain
    cause = refused.value.__cause__
    if backend == "sqlite":
        assert isinstance(cause, sqlite3.OperationalError)
        assert "disk I/O error" in str(cause)
    else:
        assert isinstance(cause, OSError | asyncpg.PostgresConnectionError)

    # Nothing half-stored: no event, no row, and the service's deliberation does not hold it.
    assert await rt.store.counts() == counts_before
    assert len(await rt.store.load_events(GUILD, deliberation_id)) == events_before
    d = await rt.get(GUILD, deliberation_id)
    assert [c.author for c in d.positions()] == [member(1).key]

    # Back: the same action is stored, once, by the same process (no reopen).
    await _position(rt, deliberation_id, 2)
    d = await rt.get(GUILD, deliberation_id)
    assert sorted(c.author for c in d.positions()) == sorted([member(1).key, member(2).key])
    assert len(await rt.store.load_events(GUILD, deliberation_id)) == events_before + 2  # joined, added
    assert await rt.store.verify() == []
    assert _outage_lines(caplog) == (1, 1)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_every_kind_of_call_fails_fast_while_the_server_is_down_and_no_dead_connection_is_reused(
    service: Roundtable, loss: Loss, caplog: pytest.LogCaptureFixture
) -> None:
    rt = service
    store = rt.store
    assert isinstance(store, PgStore)
    deliberation_id = (await rt.start(GUILD, 5, MOD, "Fridays?")).deliberation.id
    await _position(rt, deliberation_id, 1)
    # Every pooled connection open and idle when the server goes: each of them dies with it.
    held = [await store._pool.acquire() for _ in range(store._pool.get_max_size())]
    for connection in held:
        await store._pool.release(connection)

    loss.begin()
    calls = {
        "read": store.deliberation(GUILD, deliberation_id),
        "list": store.list_records(GUILD),
        "events": store.load_events(GUILD, deliberation_id),
        "write": store.set_location(GUILD, deliberation_id, channel_id=5, thread_id=6),
        "action": _position(rt, deliberation_id, 2),
    }
    for name, call in calls.items():
        with pytest.raises(errors.StorageUnavailable):
            await asyncio.wait_for(call, timeout=30)
        assert name  # each kind refused
    with pytest.raises(errors.StorageUnavailable):
        async for _ in store.all_records(GUILD):
            pass
    loss.end()

    # As many calls at once as the pool has connections, twice over: every one is served by a
    # fresh connection, none by one that died with the server.
    results = await asyncio.gather(
        *(store.deliberation(GUILD, deliberation_id) for _ in range(2 * store._pool.get_max_size()))
    )
    assert {row.id for row in results} == {deliberation_id}
    await _position(rt, deliberation_id, 2)
    assert len((await rt.get(GUILD, deliberation_id)).positions()) == 2
    assert _outage_lines(caplog) == (1, 1)
    assert not [r for r in caplog.records if r.name.startswith("asyncpg") and r.exc_info]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_connection_lost_during_commit_says_the_action_may_or_may_not_be_stored(
    service: Roundtable, database_url: str
) -> None:
    rt = service
    deliberation_id = (await rt.start(GUILD, 5, MOD, "Fridays?")).deliberation.id
    # The server ends this connection while it commits: a deferred trigger runs at COMMIT and
    # terminates its own backend, so the client loses the connection with COMMIT on its way.
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(
            "CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;"
            " CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON contributions"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die_at_commit()"
        )
        with pytest.raises(errors.StorageUnavailable) as refused:
            await _position(rt, deliberation_id, 1)
        await admin.execute("DROP TRIGGER die_at_commit ON contributions; DROP FUNCTION die_at_commit()")
    finally:
        await admin.close()
    assert refused.value.uncertain
    assert refused.value.user_message == STORAGE_UNCERTAIN
    # The service decides the next action on what is stored, whichever way the commit went.
    assert await _position(rt, deliberation_id, 1, "Fridays suit us.") > 0
    d = await rt.get(GUILD, deliberation_id)
    assert [c.text for c in d.positions()] == ["Fridays suit us."]
    assert await rt.store.verify() == []


async def _set(rt: Roundtable, pragma: str) -> None:
    await (await rt.store._conn.execute(f"PRAGMA {pragma}")).close()  # type: ignore[union-attr]


async def test_sqlite_full_or_read_only_refuses_as_unavailable_and_recovers(service: Roundtable) -> None:
    rt = service
    deliberation_id = (await rt.start(GUILD, 5, MOD, "Fridays?")).deliberation.id
    async with rt.store._conn.execute("PRAGMA page_count") as cursor:  # type: ignore[union-attr]
        (pages,) = await cursor.fetchone()  # type: ignore[misc]

    # "database or disk is full": the file may not grow by another page.
    await _set(rt, f"max_page_count = {pages}")
    with pytest.raises(errors.StorageUnavailable):
        await _position(rt, deliberation_id, 1, "A long reason. " * 250)
    await _set(rt, "max_page_count = 4294967294")

    # "attempt to write a readonly database".
    await _set(rt, "query_only = 1")
    with pytest.raises(errors.StorageUnavailable):
        await _position(rt, deliberation_id, 1)
    await _set(rt, "query_only = 0")

    assert (await rt.get(GUILD, deliberation_id)).positions() == []
    await _position(rt, deliberation_id, 1)
    assert len((await rt.get(GUILD, deliberation_id)).positions()) == 1
    assert await rt.store.verify() == []


async def test_a_sqlite_error_that_is_not_an_outage_is_not_reported_as_one(service: Roundtable) -> None:
    """A damaged schema (or a bug) stays an error with its traceback, not "storage is unavailable"."""
    rt = service
    assert await rt.guild_settings(GUILD) is not None
    await _set(rt, "foreign_keys = OFF")
    await (await rt.store._conn.execute("ALTER TABLE guild_settings RENAME TO gone")).close()  # type: ignore[union-attr]
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await rt.guild_settings(GUILD)
    assert rt.store.outage.failures == 0
    assert not rt.store.outage.down


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (TimeoutError(), True),  # connecting timed out
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (asyncpg.CrashShutdownError("terminating connection because of crash of another server process"), True),
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), True),
        (asyncpg.DiskFullError("could not extend file"), True),
        (asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        # Not outages: a timeout is "busy" (bot/store/pg.py `_write`), the rest are bugs or refusals.
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), False),
        (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), False),
        (asyncpg.UniqueViolationError("duplicate key value"), False),
        (asyncpg.InvalidPasswordError("password authentication failed"), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_postgresql_errors_mean_storage_is_unavailable(error: Exception, unavailable: bool) -> None:
    assert isinstance(pg_fault(error), errors.StorageUnavailable) is unavailable


def test_which_sqlite_errors_mean_storage_is_unavailable_or_busy(tmp_path: Path) -> None:
    """Real errors from SQLite itself, each classified by its result code."""

    def raised(fn: Callable[[], object]) -> sqlite3.Error:
        with pytest.raises(sqlite3.Error) as caught:
            fn()
        return caught.value

    cannot_open = raised(lambda: sqlite3.connect(tmp_path / "no" / "such" / "dir.db").execute("SELECT 1"))
    (tmp_path / "db.sqlite3").touch()
    sqlite3.connect(tmp_path / "db.sqlite3").execute("CREATE TABLE t (x)")
    read_only = sqlite3.connect(f"file:{tmp_path / 'db.sqlite3'}?mode=ro", uri=True)
    readonly = raised(lambda: read_only.execute("INSERT INTO t VALUES (1)"))
    holder = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(tmp_path / "db.sqlite3", timeout=0.01)
    locked = raised(lambda: waiter.execute("SELECT * FROM t"))
    holder.execute("ROLLBACK")
    (tmp_path / "garbage.sqlite3").write_bytes(b"not a database" * 100)
    garbage = sqlite3.connect(tmp_path / "garbage.sqlite3")
    not_a_database = raised(lambda: garbage.execute("SELECT * FROM sqlite_master"))
    no_table = raised(lambda: waiter.execute("SELECT * FROM no_such_table"))

    assert isinstance(sqlite_fault(cannot_open), errors.StorageUnavailable)
    assert isinstance(sqlite_fault(readonly), errors.StorageUnavailable)
    assert isinstance(sqlite_fault(locked), errors.DatabaseBusy)
    assert sqlite_fault(not_a_database) is None  # damaged: an operator must look
    assert sqlite_fault(no_table) is None
    for connection in (read_only, holder, waiter, garbage):
        connection.close()
