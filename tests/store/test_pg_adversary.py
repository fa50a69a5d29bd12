"""The adversary's findings against the PostgreSQL backend and `db copy` (issue 12), each a test:
URLs whose database or secrets asyncpg would ignore or show, copies from a live database, targets
that are not Roundtable's, server-side tampering, and text PostgreSQL treats differently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.config import Settings
from bot.store.url import BadDatabaseURL, parse_database_url, redact, sqlite_url
from tests.conftest import ManualClock
from tests.postgres import PostgresServer
from tests.store.test_verify_tampering import build

_T = TypeVar("_T")
PG = pytest.mark.parametrize("backend", ["postgresql"])


def run(coro: Awaitable[_T]) -> _T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


async def fetchval(url: str, sql: str) -> object:
    conn = await asyncpg.connect(**parse_database_url(url).connect_kwargs())
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_pg(postgres_server: PostgresServer) -> Callable[[], str]:
    return lambda: postgres_server.create_database()


# ---------------------------------------------------------------------- 1. the database a URL names


@pytest.mark.sqlite_only  # the source is this test's SQLite file
def test_copy_writes_into_the_database_named_by_dbname_not_the_users_default(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: ManualClock,
    postgres_server: PostgresServer,
) -> None:
    source = run(build(settings, clock))
    name = f"rt_named_{id(source) % 10_000}"
    postgres_server.create_database(name=name)
    by_query = f"postgresql://{postgres_server.role}@/?dbname={name}&host={postgres_server.socket_dir}"
    code, out, err = cli(capsys, "db", "copy", "--from", sqlite_url(source), "--to", by_query)
    assert code == 0, err
    assert run(fetchval(postgres_server.url(name), "SELECT count(*) FROM deliberations")) == 2
    # Nothing landed in the database asyncpg would have picked on its own.
    default = postgres_server.url("postgres")
    assert run(fetchval(default, "SELECT to_regclass('public.events') IS NULL")) is True


def test_urls_whose_parts_asyncpg_would_ignore_are_refused() -> None:
    for url, says in (
        ("postgresql://rt@db/a?dbname=b", "more than one database"),
        ("postgresql://rt@db/a?connect_timeout=3", "'connect_timeout'"),
        ("postgresql://rt@db/a?host=/tmp/other", "host twice"),
        ("postgresql://rt@db/a?user=other", "user twice"),
        ("postgresql://rt@db/a?sslmode=require&sslmode=disable", "twice"),
    ):
        with pytest.raises(BadDatabaseURL, match=says):
            parse_database_url(url)
    named = parse_database_url("postgresql://rt@/?dbname=roundtable&host=/run/pg")
    assert named.connect_kwargs()["database"] == "roundtable"


# ---------------------------------------------------------------------- 2. no password, never shown


def test_every_password_form_is_refused_and_never_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for url in (
        "postgresql://rt:hunter2@db/rt",
        "postgresql://rt@db/rt?password=hunter2",
        "postgresql://rt@db/rt?sslpassword=hunter2",
        "postgresql://rt@db/rt?sslmode=require&PassWord=hunter2",
    ):
        with pytest.raises(BadDatabaseURL) as refused:
            parse_database_url(url)
        assert "PGPASSWORD" in str(refused.value)
        assert "hunter2" not in str(refused.value)
        with pytest.raises(ValidationError) as invalid:
            Settings.load(read_env=False, database={"url": url})
        assert "hunter2" not in str(invalid.value)
        for argv in (["verify", "--db", url], ["db", "copy", "--from", str(tmp_path / "a.sqlite3"), "--to", url]):
            code, out, err = cli(capsys, *argv)
            assert code != 0
            assert "hunter2" not in out + err
    # Other refusals show the URL, with its secrets masked.
    with pytest.raises(BadDatabaseURL) as refused:
        parse_database_url("postgresql://rt@db/rt?passfile=/home/x/.pgpass&bogus=1")
    assert "/home/x/.pgpass" not in str(refused.value)
    assert redact("postgresql://rt:hunter2@db/rt?sslpassword=x2&a=1") == "postgresql://rt:***@db/rt?sslpassword=***&a=1"
