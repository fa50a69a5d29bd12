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
    code, _, err = cli(capsys, "db", "copy", "--from", sqlite_url(source), "--to", by_query)
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


def test_every_password_form_is_refused_and_never_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
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


# ---------------------------------------------------------------------- 3. one snapshot; all or nothing


async def pg_execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(**parse_database_url(url).connect_kwargs())
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.sqlite_only  # the source is this test's SQLite file, written to during the copy
def test_a_write_during_the_copy_does_not_reach_it_and_the_copy_is_intact(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: ManualClock,
    fresh_pg: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sqlite3

    import bot.store.copy as copy_module

    source = run(build(settings, clock))
    select = copy_module._select
    written: list[str] = []

    def select_then_write(table: str) -> str:
        # After the events are read, another process changes a row a later table holds.
        if table == "deliberations" and not written:
            other = sqlite3.connect(source, timeout=0)
            other.execute("UPDATE deliberations SET question = 'changed meanwhile'")
            other.commit()
            other.close()
            written.append(table)
        return select(table)

    monkeypatch.setattr(copy_module, "_select", select_then_write)
    target = fresh_pg()
    code, out, err = cli(capsys, "db", "copy", "--from", sqlite_url(source), "--to", target)
    assert written
    assert code == 0, err
    assert "verified: the copy is intact" in out
    assert run(fetchval(target, "SELECT count(*) FROM deliberations WHERE question = 'changed meanwhile'")) == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_copy_that_is_not_intact_leaves_the_target_empty_for_a_retry(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: ManualClock,
    fresh_pg: Callable[[], str],
    tmp_path: Path,
    backend: str,
) -> None:
    import sqlite3

    run(build(settings, clock))
    source = settings.database.url or ""
    edit = "UPDATE deliberations SET question = 'edited'"
    if backend == "postgresql":
        run(pg_execute(source, edit))
        target = sqlite_url(tmp_path / "target.sqlite3")
    else:
        with sqlite3.connect(settings.database.path) as conn:
            conn.execute(edit)
        target = fresh_pg()
    code, out, err = cli(capsys, "db", "copy", "--from", source, "--to", target)
    assert code == 1
    assert "NOT intact" in err
    assert "none of it was kept" in err
    assert out == ""
    if backend == "postgresql":
        with sqlite3.connect(tmp_path / "target.sqlite3") as conn:
            assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    else:
        assert run(fetchval(target, "SELECT count(*) FROM events")) == 0
    # The target is still empty: the retry (of an intact source) is not refused as "not empty".
    fresh_source = tmp_path / "fresh" / "roundtable.sqlite3"
    other = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": None, "path": fresh_source})}
    )
    run(build(other, ManualClock()))
    code, out, err = cli(capsys, "db", "copy", "--from", sqlite_url(fresh_source), "--to", target)
    assert code == 0, err
    assert "verified: the copy is intact" in out


# ---------------------------------------------------------------------- 4. another application's tables


@pytest.mark.sqlite_only  # the source is this test's SQLite file
def test_a_target_holding_another_applications_tables_is_refused_before_anything_is_written(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: ManualClock,
    fresh_pg: Callable[[], str],
    tmp_path: Path,
) -> None:
    import sqlite3

    source = sqlite_url(run(build(settings, clock)))
    target = fresh_pg()
    run(pg_execute(target, "CREATE TABLE invoices (id int PRIMARY KEY, total numeric)"))
    code, out, err = cli(capsys, "db", "copy", "--from", source, "--to", target)
    assert code == 1
    assert "not Roundtable's (invoices)" in err
    assert "\n" not in err.strip()
    assert out == ""
    assert run(fetchval(target, "SELECT to_regclass('events') IS NULL")) is True  # not even migrated

    other = tmp_path / "shop.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    code, out, err = cli(capsys, "db", "copy", "--from", source, "--to", sqlite_url(other))
    assert code == 1
    assert "not Roundtable's (invoices)" in err
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]


# ---------------------------------------------------------------------- 5. an INSERT that writes nothing


@PG
def test_an_action_the_server_silently_drops_is_refused_not_acknowledged(
    settings: Settings, clock: ManualClock, backend: str
) -> None:
    from bot.engine import Actor, errors
    from bot.service import Roundtable
    from tests.store.test_verify_tampering import GUILD, OPEN

    run(build(settings, clock))
    url = str(settings.database.database_url)
    run(pg_execute(url, "CREATE RULE lose AS ON INSERT TO events DO INSTEAD NOTHING"))

    async def act() -> None:
        rt = await Roundtable.open(settings, clock)
        try:
            with pytest.raises(errors.DatabaseBusy, match="did not store"):
                await rt.act(GUILD, OPEN, lambda d, at: d.object(Actor.human(12, "Ben"), "Again", "Still", at))
            with pytest.raises(errors.DatabaseBusy):
                await rt.start(GUILD, 5, Actor.human(10, "Mona", moderates=True), "Lost?")
        finally:
            await rt.close()

    before = run(fetchval(url, "SELECT count(*) FROM events"))
    run(act())
    assert run(fetchval(url, "SELECT count(*) FROM deliberations")) == 2  # the start was rolled back
    run(pg_execute(url, "DROP RULE lose ON events"))
    assert run(fetchval(url, "SELECT count(*) FROM events")) == before


# ---------------------------------------------------------------------- 11. a stalled writer


@PG
def test_a_writer_stalled_holding_the_lock_gets_a_try_again_not_a_hang(
    settings: Settings, clock: ManualClock, backend: str
) -> None:
    from bot.engine import Actor, errors
    from bot.service import Roundtable
    from tests.store.test_verify_tampering import GUILD, OPEN

    run(build(settings, clock))
    url = str(settings.database.database_url)

    async def stalled_then_act() -> None:
        stalled = await asyncpg.connect(**parse_database_url(url).connect_kwargs())
        rt = await Roundtable.open(settings, clock)
        try:
            tx = stalled.transaction()
            await tx.start()
            await stalled.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"d:{OPEN}")
            act = rt.act(GUILD, OPEN, lambda d, at: d.object(Actor.human(12, "Ben"), "Now", "Please", at))
            with pytest.raises(errors.DatabaseBusy, match="try again"):
                await asyncio.wait_for(act, 20)
            await tx.rollback()
            # Once the stalled writer is gone, the same action goes through.
            change = await rt.act(GUILD, OPEN, lambda d, at: d.object(Actor.human(12, "Ben"), "Now", "Please", at))
            assert change.added()
        finally:
            await rt.close()
            await stalled.close()

    run(stalled_then_act())


# ---------------------------------------------------------------------- 6, 12. records and search alike


async def _seal(settings: Settings, clock: ManualClock, question: str, texts: list[str]) -> tuple[int, object]:
    """A quick deliberation with one position per text, sealed; returns its id and the service."""
    from bot.engine import Actor
    from bot.engine.model import ConsentChoice
    from bot.service import Roundtable

    rt = await Roundtable.open(settings, clock)
    mod = Actor.human(1, "Mod", moderates=True)
    d = (await rt.start(31, 1, mod, question, template="quick", ai=False)).deliberation
    for i, text in enumerate(texts):
        clock.advance(0.01)
        member = Actor.human(100 + i, f"m{i}")
        await rt.act(31, d.id, lambda dl, at, m=member, t=text: dl.state_position(m, "Yes", t, at))
    clock.advance(20)
    await rt.act(31, d.id, lambda dl, at: dl.advance(mod, at, force=True))
    for i in range(min(2, len(texts))):
        member = Actor.human(100 + i, f"m{i}")
        await rt.act(31, d.id, lambda dl, at, m=member: dl.give_consent(m, ConsentChoice.ENDORSE, at))
    clock.advance(120)  # past the round's deadline: closing needs no confirmation
    await rt.act(31, d.id, lambda dl, at: dl.advance(mod, at, force=True))
    await rt.store.record(31, d.id)  # sealed: its record is stored
    return d.id, rt


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_search_folds_diacritics_and_long_words_alike_on_both_backends(
    settings: Settings, clock: ManualClock, backend: str
) -> None:
    from bot.engine import errors

    long_word = "a" * 3000

    async def go() -> None:
        sealed, rt = await _seal(settings, clock, "Café for naïve members?", [f"Yes, the café {long_word}", "Fine"])
        try:
            found = {
                q: [r.deliberation_id for r in await rt.search_records(31, q, limit=5)]  # type: ignore[attr-defined]
                for q in ("cafe", "CAFÉ", "Cafe\u0301", "naive", "naïve members", "tea")
            }
            assert found == {
                "cafe": [sealed],
                "CAFÉ": [sealed],
                "Cafe\u0301": [sealed],
                "naive": [sealed],
                "naïve members": [sealed],
                "tea": [],
            }
            # A word too long for PostgreSQL's index is not searched for on either backend.
            with pytest.raises(errors.EmptyText):
                await rt.search_records(31, long_word, limit=5)  # type: ignore[attr-defined]
            assert [r.deliberation_id for r in await rt.search_records(31, f"{long_word} cafe", limit=5)] == [sealed]  # type: ignore[attr-defined]
            assert await rt.store.verify() == []  # type: ignore[attr-defined]
        finally:
            await rt.close()  # type: ignore[attr-defined]

    run(go())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_record_over_a_megabyte_seals_and_verifies_on_both_backends(
    settings: Settings, clock: ManualClock, backend: str
) -> None:
    import random
    import string

    rnd = random.Random(1)
    # Distinct random words: PostgreSQL's tsvector of the whole record would pass its 1 MB limit.
    texts = [" ".join("".join(rnd.choices(string.ascii_lowercase, k=8)) for _ in range(440))[:3990] for _ in range(300)]

    async def go() -> None:
        sealed, rt = await _seal(settings, clock, "A huge record?", texts)
        try:
            stored = await rt.store.record(31, sealed)  # type: ignore[attr-defined]
            assert len(stored.markdown.encode()) > 1_100_000
            first_word = texts[0].split()[0]
            assert [r.deliberation_id for r in await rt.search_records(31, first_word, limit=5)] == [sealed]  # type: ignore[attr-defined]
            assert await rt.store.verify() == []  # type: ignore[attr-defined]
        finally:
            await rt.close()  # type: ignore[attr-defined]

    run(go())


# ---------------------------------------------------------------------- 8. a read makes no key


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_polis_export_is_a_read_and_registers_no_signing_key(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    import sqlite3

    from tests.store.test_verify_tampering import GUILD, OPEN

    run(build(settings, clock))
    url = str(settings.database.database_url)
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)  # where a key would be made for a URL with no key configured

    def keys() -> int:
        if backend == "postgresql":
            return int(run(fetchval(url, "SELECT count(*) FROM signing_keys")))  # type: ignore[call-overload]
        with sqlite3.connect(settings.database.path) as conn:
            return int(conn.execute("SELECT count(*) FROM signing_keys").fetchone()[0])

    before = keys()
    settings.database.signing_key_path.unlink()  # the operator runs it where the bot's key is not
    code, _, err = cli(
        capsys,
        "polis",
        "export",
        "--db",
        url,
        "--guild",
        str(GUILD),
        "--deliberation",
        str(OPEN),
        "--out",
        str(work / "out"),
    )
    assert code == 0, err
    assert (work / "out" / "votes.csv").is_file()
    assert keys() == before
    assert not settings.database.signing_key_path.exists()
    assert not any(work.rglob("*.key"))


# ---------------------------------------------------------------------- 7. a forked chain


@PG
def test_verify_names_a_fork_on_postgresql_instead_of_crashing(
    capsys: pytest.CaptureFixture[str], settings: Settings, clock: ManualClock, backend: str
) -> None:
    run(build(settings, clock))
    url = str(settings.database.database_url)
    run(
        pg_execute(
            url,
            "ALTER TABLE events DROP CONSTRAINT events_stream_seq_key",
            "INSERT INTO events (guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload,"
            " prev_hash, hash) SELECT guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at,"
            " replace(payload, 'Too dear', 'Too cheap'), prev_hash, hash FROM events WHERE stream = 'd:2'"
            " ORDER BY seq DESC LIMIT 1",
        )
    )
    code, out, err = cli(capsys, "verify", "--db", url)
    assert code == 1, out + err
    assert "NOT intact" in err
    assert "d:2: 2 events at seq" in err
    assert "forked" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------- 10. hostile display names


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_display_name_with_nul_or_a_lone_surrogate_is_stored_alike_on_both_backends(
    settings: Settings, clock: ManualClock, backend: str
) -> None:
    from bot.engine import Actor
    from bot.service import Roundtable
    from tests.store.test_verify_tampering import GUILD, OPEN

    run(build(settings, clock))

    async def go() -> None:
        rt = await Roundtable.open(settings, clock)
        try:
            hostile = Actor.human(77, "Eve\x00\x07 \ud800Smith")
            change = await rt.act(GUILD, OPEN, lambda d, at: d.object(hostile, "Odd name", "Still a member", at))
            assert change.added()
            events = await rt.store.load_events(GUILD, OPEN)
            assert events[-1].actor.name == "Eve \ufffdSmith"
            assert await rt.store.verify() == []
        finally:
            await rt.close()

    run(go())


# ---------------------------------------------------------------------- 9. a post owed but not in the outbox


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_owed_post_deleted_from_the_outbox_is_caught(
    capsys: pytest.CaptureFixture[str], settings: Settings, clock: ManualClock, backend: str
) -> None:
    import sqlite3

    from tests.store.test_verify_tampering import OPEN

    run(build(settings, clock))
    url = str(settings.database.database_url)
    assert cli(capsys, "verify", "--db", url)[0] == 0
    # The objection's post is owed and undelivered: deleting it would silently drop it.
    edit = f"DELETE FROM outbox WHERE deliberation_id = {OPEN} AND ref LIKE 'o:%'"
    if backend == "postgresql":
        run(pg_execute(url, edit))
    else:
        with sqlite3.connect(settings.database.path) as conn:
            assert conn.execute(edit).rowcount == 1
    code, out, err = cli(capsys, "verify", "--db", url)
    assert code == 1, out
    assert f"outbox #{OPEN}/o:" in err
    assert "owe this post" in err
