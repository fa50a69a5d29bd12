"""Shared fixtures: a real database per test (an SQLite file, or a fresh database on a real
PostgreSQL server), settings built in code, a clock that moves when told.

Both backends: the store and service tests (tests/store, and the service tests named in
`BOTH_BACKENDS`) run once on SQLite and once on PostgreSQL, through the `backend` fixture. A
test that reaches the SQLite file itself (`sqlite3`, `db_path`, `Store.open`, `tamper`) is
SQLite's alone; PostgreSQL's own tampering and CLI tests are in tests/store/test_postgres.py.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import Roundtable
from bot.store.url import sqlite_url
from tests.postgres import PostgresServer

# Test files whose tests run on both backends (besides every file under tests/store).
BOTH_BACKENDS = ("tests/test_ai_turns.py", "tests/test_polis_interchange.py", "tests/engine/test_state_machine.py")
# What marks a test as reaching the SQLite file itself.
_SQLITE_ONLY = (
    "sqlite3",
    "db_path",
    "database.path",
    "Store.open",
    "tamper(",
    "sqlite_master",
    "PRAGMA",
    "._conn",
    ".transaction()",
)


def _runs_on_both(metafunc: pytest.Metafunc) -> bool:
    path = Path(str(metafunc.definition.path)).as_posix()
    if "/tests/store/" not in path and not path.endswith(BOTH_BACKENDS):
        return False
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        return False
    try:
        source = inspect.getsource(metafunc.function)
    except OSError:
        return False
    return not any(word in source for word in _SQLITE_ONLY)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    chosen = any("backend" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))
    if "backend" in metafunc.fixturenames and not chosen and _runs_on_both(metafunc):
        metafunc.parametrize("backend", ["sqlite", "postgresql"])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the test reaches the SQLite file itself")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (fails, never skips, when PostgreSQL is missing),
    with a migrated template database that each test's fresh database is copied from."""
    import asyncio
    import concurrent.futures

    from bot.store.pg import PgStore

    server = PostgresServer()
    try:
        server.start()
        url = server.create_database(name="rt_template")

        async def migrate() -> None:
            await (await PgStore.open(url)).close()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, whatever runs here
            pool.submit(asyncio.run, migrate()).result()
        yield server
    finally:
        server.stop()


@pytest.fixture
def backend() -> str:
    """Which database the test's settings name; parametrized over both where both apply."""
    return "sqlite"


@pytest.fixture
def database_url(backend: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.create_database(template="rt_template")
    return sqlite_url(db_path)


class ManualClock:
    """Time that only moves when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "roundtable.sqlite3"


@pytest.fixture
def settings(db_path: Path, database_url: str) -> Settings:
    return Settings.load(
        read_env=False,
        database={"url": database_url, "path": db_path},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )


@pytest.fixture
async def roundtable(settings: Settings, clock: ManualClock) -> AsyncIterator[Roundtable]:
    service = await Roundtable.open(settings, clock)
    yield service
    await service.close()
