"""PostgreSQL as SQLite's equal: the same chains byte for byte, `db copy` both ways, two writers
racing on one deliberation without a fork (on both backends), tampering caught on the server,
and the operator's commands taking `--db URL`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.config import Settings
from bot.engine import Actor, errors
from bot.service import Roundtable
from bot.store.copy import TABLES, table_columns
from bot.store.url import sqlite_url
from tests.conftest import ManualClock
from tests.postgres import PostgresServer
from tests.store.test_verify_tampering import GUILD, OPEN, SEALED, build

_T = TypeVar("_T")
BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
PG = pytest.mark.parametrize("backend", ["postgresql"])


def run(coro: Awaitable[_T]) -> _T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


async def pg_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url)
    try:
        columns = ", ".join(table_columns(table))
        return [tuple(r) for r in await conn.fetch(f"SELECT {columns} FROM {table} ORDER BY 1, 2")]
    finally:
        await conn.close()


def sqlite_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        columns = ", ".join(table_columns(table))
        return [tuple(r) for r in conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2")]
    finally:
        conn.close()


async def pg_execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def fresh_pg(postgres_server: PostgresServer) -> Callable[[], str]:
    """Another empty PostgreSQL database, migrated or not (a `db copy` target)."""
    return lambda: postgres_server.create_database()


# ---------------------------------------------------------------------- one chain, two backends


@pytest.mark.sqlite_only  # the source is this test's SQLite file
def test_an_archive_copied_to_postgresql_and_back_is_the_same_rows_and_verifies(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: ManualClock,
    fresh_pg: Callable[[], str],
    tmp_path: Path,
) -> None:
    source = run(build(settings, clock))  # SQLite: settings, a sealed record, an open deliberation
    target = fresh_pg()
    code, out, err = cli(capsys, "db", "copy", "--from", sqlite_url(source), "--to", target)
    assert code == 0, err
    assert "verified: the copy is intact" in out
    assert "2 deliberations, 1 records" in out
    # Row for row, the same text: every event hashes alike, every signature holds.
    for table in TABLES:
        assert run(pg_rows(target, table)) == sqlite_rows(source, table), table
    code, out, err = cli(capsys, "verify", "--db", target)
    assert code == 0, err
    assert "1 sealed records verified" in out
    # And back into a new SQLite file, which verifies as the original did.
    back = tmp_path / "back" / "roundtable.sqlite3"
    code, out, err = cli(capsys, "db", "copy", "--from", target, "--to", sqlite_url(back))
    assert code == 0, err
    for table in TABLES:
        assert sqlite_rows(back, table) == sqlite_rows(source, table), table
    assert cli(capsys, "verify", "--db", str(back))[0] == 0


@PG
def test_the_bot_goes_on_after_a_copy_to_postgresql(
    settings: Settings, clock: ManualClock, tmp_path: Path, database_url: str
) -> None:
    sqlite_settings = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": None, "path": tmp_path / "old.sqlite3"})}
    )
    run(build(sqlite_settings, clock))
    empty = database_url  # this test's own database, migrated and empty
    assert main(["db", "copy", "--from", str(tmp_path / "old.sqlite3"), "--to", empty]) == 0

    async def go_on() -> None:
        rt = await Roundtable.open(settings, clock)  # the same key file, now on PostgreSQL
        try:
            ben = Actor.human(12, "Ben")
            change = await rt.act(GUILD, OPEN, lambda d, at: d.object(ben, "Still too dear", "No budget", at))
            assert change.added()
            new = (await rt.start(GUILD, 5, Actor.human(10, "Mona"), "Another?")).deliberation
            assert new.id == OPEN + 1  # ids continue after the copied ones
            assert await rt.store.verify() == []
            assert [r.deliberation_id for r in await rt.search_records(GUILD, "Fridays", limit=5)] == [SEALED]
        finally:
            await rt.close()

    run(go_on())


@pytest.mark.sqlite_only  # the source is this test's SQLite file
@pytest.mark.parametrize("direction", ["to_postgresql", "to_sqlite"])
def test_copy_refuses_a_target_that_is_not_empty_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    clock: ManualClock,
    fresh_pg: Callable[[], str],
    direction: str,
) -> None:
    source = sqlite_url(run(build(settings, clock)))
    occupied = fresh_pg()
    assert cli(capsys, "db", "copy", "--from", source, "--to", occupied)[0] == 0
    src, dst = (source, occupied) if direction == "to_postgresql" else (occupied, source)
    events = len(run(pg_rows(occupied, "events")))
    code, out, err = cli(capsys, "db", "copy", "--from", src, "--to", dst)
    assert code == 1
    assert "not empty" in err
    assert "\n" not in err.strip()
    assert out == ""
    assert len(run(pg_rows(occupied, "events"))) == events


def test_copy_refuses_bad_urls_and_missing_sources_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fresh_pg: Callable[[], str]
) -> None:
    for argv, says in (
        (["--from", str(tmp_path / "none.sqlite3"), "--to", fresh_pg()], "No database at"),
        (["--from", "mysql://x/y", "--to", fresh_pg()], "unknown database kind"),
        (["--from", str(tmp_path / "a.sqlite3"), "--to", "postgresql://me:secret@localhost/x"], "PGPASSWORD"),
    ):
        code, _, err = cli(capsys, "db", "copy", *argv)
        assert code in (1, 2), err
        assert says in err
        assert "Traceback" not in err
        assert "\n" not in err.strip()


# ---------------------------------------------------------------------- two writers, one chain


async def _two_bots(settings: Settings, clock: ManualClock) -> tuple[Roundtable, Roundtable]:
    first = await Roundtable.open(settings, clock)
    second = await Roundtable.open(settings, clock)  # its own connection(s): another process's view
    return first, second


@BOTH
async def test_a_writer_with_a_stale_view_decides_again_and_the_chain_never_forks(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.service")
    one, two = await _two_bots(settings, clock)
    try:
        d = (await one.start(GUILD, 5, Actor.human(10, "Mona"), "Fridays?")).deliberation
        ada, ben = Actor.human(11, "Ada"), Actor.human(12, "Ben")
        await two.get(GUILD, d.id)  # `two` caches the deliberation as it is now ...
        await one.act(GUILD, d.id, lambda d, at: d.state_position(ada, "Yes", "Fridays free the weekend", at))
        # ... and acts on that stale view: its append is refused, it reloads and decides again.
        change = await two.act(GUILD, d.id, lambda d, at: d.state_position(ben, "No", "I work Fridays", at))
        assert {c.author for c in change.deliberation.contributions.values()} == {ada.key, ben.key}
        assert "changed in another process; deciding again" in caplog.text  # refused once, then stored
        # `one` acts on its own stale view in turn: it too decides again on what is stored.
        await one.act(GUILD, d.id, lambda d, at: d.state_position(Actor.human(13, "Cy"), "Yes", "Fine by me", at))
        assert await one.store.verify() == []
        events = await one.store.load_events(GUILD, d.id)
        assert sum(1 for e in events if e.kind.value == "contribution.added") == 3
    finally:
        await one.close()
        await two.close()


@BOTH
async def test_two_writers_racing_on_one_deliberation_store_every_acknowledged_action(
    settings: Settings, clock: ManualClock
) -> None:
    one, two = await _two_bots(settings, clock)
    try:
        d = (await one.start(GUILD, 5, Actor.human(10, "Mona"), "Fridays?")).deliberation
        await two.get(GUILD, d.id)
        members = [Actor.human(100 + i, f"Member {i}") for i in range(16)]

        async def say(bot: Roundtable, member: Actor) -> str | None:
            try:
                await bot.act(GUILD, d.id, lambda d, at: d.state_position(member, "Yes", f"I am {member.name}", at))
            except errors.ChangedMeanwhile:
                return None  # refused in words, nothing stored: the member tries again
            return member.key

        acknowledged = await asyncio.gather(*(say(one if i % 2 else two, m) for i, m in enumerate(members)))
        stored = {c.author for c in (await one.get(GUILD, d.id)).contributions.values()}
        events = await two.store.load_events(GUILD, d.id)
        authors = [e.actor.key for e in events if e.kind.value == "contribution.added"]
        assert {a for a in acknowledged if a is not None} <= set(authors)
        assert len(authors) == len(set(authors))  # no action stored twice
        assert stored <= set(authors)
        assert sum(a is not None for a in acknowledged) >= len(members) // 2
        assert await one.store.verify() == []
    finally:
        await one.close()
        await two.close()


# ---------------------------------------------------------------------- tampering on the server


@pytest.fixture
def pg_db(settings: Settings, clock: ManualClock, backend: str) -> str:
    assert backend == "postgresql"
    run(build(settings, clock))
    return str(settings.database.database_url)


def assert_caught(capsys: pytest.CaptureFixture[str], url: str, *names: str) -> None:
    code, out, err = cli(capsys, "verify", "--db", url)
    assert code == 1, out
    assert "NOT intact" in err
    for name in names:
        assert name in err, err


@PG
def test_the_untouched_postgresql_database_is_intact_and_verify_writes_nothing(
    capsys: pytest.CaptureFixture[str], pg_db: str
) -> None:
    before = {t: run(pg_rows(pg_db, t)) for t in TABLES}
    code, out, err = cli(capsys, "verify", "--db", pg_db)
    assert code == 0, err
    assert "intact (" in out
    assert "1 sealed records verified" in out
    assert {t: run(pg_rows(pg_db, t)) for t in TABLES} == before


@PG
@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (
            [
                "ALTER TABLE events DISABLE TRIGGER USER",
                "UPDATE events SET payload = replace(payload, 'Shift work', 'Happy') WHERE stream = 'd:1'",
            ],
            "d:1: event",
        ),
        (["UPDATE contributions SET text = 'I love Fridays' WHERE id = 2"], "contributions #1/2: column text"),
        (["DELETE FROM decision_records"], "decision_records #1: missing"),
        (["UPDATE deliberations SET guild_id = 2002 WHERE id = 2"], "deliberations #2: column guild_id"),
        (["DROP TRIGGER events_no_update ON events"], "schema: trigger events.events_no_update is missing"),
        (["ALTER TABLE events DISABLE TRIGGER events_no_delete"], "schema: trigger events.events_no_delete differs"),
        (
            [
                "CREATE OR REPLACE FUNCTION roundtable_append_only() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RETURN NEW; END $$"
            ],
            "schema: function roundtable_append_only differs",
        ),
        (["CREATE INDEX sneaky ON events (kind)"], "schema: index sneaky is not Roundtable's"),
        (["ALTER TABLE decision_records DROP COLUMN search"], "schema: column decision_records.search is missing"),
        (["UPDATE schema_version SET version = 3"], "schema_version is 3"),
        # Switched off for ordinary sessions without being disabled (the adversary's).
        (["ALTER TABLE events ENABLE REPLICA TRIGGER events_no_update"], "trigger events.events_no_update differs"),
        (["ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_delete"], "trigger events.events_no_delete differs"),
        (["CREATE RULE lose AS ON INSERT TO events DO INSTEAD NOTHING"], "rule events.lose is not Roundtable's"),
        (["CREATE RULE keep AS ON DELETE TO outbox DO INSTEAD NOTHING"], "rule outbox.keep is not Roundtable's"),
        (["ALTER TABLE events SET UNLOGGED"], "schema: storage events differs"),
        (
            [
                "ALTER TABLE decision_records ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY hide ON decision_records USING (false)",
            ],
            "schema: policy decision_records.hide is not Roundtable's",
        ),
    ],
)
def test_an_edit_on_the_server_is_caught_and_named(
    capsys: pytest.CaptureFixture[str], pg_db: str, statements: list[str], named: str
) -> None:
    run(pg_execute(pg_db, *statements))
    assert_caught(capsys, pg_db, named)


@PG
async def test_events_are_append_only_on_postgresql(pg_db: str) -> None:
    conn = await asyncpg.connect(pg_db)
    try:
        for statement in ("UPDATE events SET payload = '{}'", "DELETE FROM events", "TRUNCATE events CASCADE"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(statement)
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM signing_keys")
        with pytest.raises(asyncpg.UniqueViolationError):
            # A second event at a seq the chain already has: the unique sequence refuses a fork.
            await conn.execute(
                "INSERT INTO events (guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload,"
                " prev_hash, hash) SELECT guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at,"
                " payload, prev_hash, hash FROM events WHERE stream = 'd:2' ORDER BY seq DESC LIMIT 1"
            )
    finally:
        await conn.close()


# ---------------------------------------------------------------------- the operator's commands


@PG
def test_export_upgrade_and_polis_take_a_postgresql_url(
    capsys: pytest.CaptureFixture[str], pg_db: str, tmp_path: Path
) -> None:
    code, out, err = cli(
        capsys, "export", "--guild", str(GUILD), "--format", "json", "--out", str(tmp_path / "x"), "--db", pg_db
    )
    assert code == 0, err
    record = json.loads((tmp_path / "x" / f"decision-{SEALED}.json").read_text())
    assert record["question"] == "Fridays?"
    assert (tmp_path / "x" / f"decision-{SEALED}.proof.json").is_file()
    code, out, err = cli(capsys, "db", "upgrade", "--db", pg_db)
    assert code == 0, err
    assert "up to date (6)" in out
    out_dir = tmp_path / "polis"
    args = ["polis", "export", "--guild", str(GUILD), "--deliberation", str(OPEN), "--out", str(out_dir)]
    code, out, err = cli(capsys, *args, "--db", pg_db)
    assert code == 0, err
    assert (out_dir / "comments.csv").read_text().count("\n") >= 2


def test_an_unreachable_or_missing_postgresql_database_is_one_line(
    capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer, tmp_path: Path
) -> None:
    missing = postgres_server.url("no_such_database")
    unreachable = f"postgresql://nobody@/x?host={tmp_path}"  # no server listens there
    for url in (missing, unreachable):
        code, _out, err = cli(capsys, "verify", "--db", url)
        assert code == 2, err
        assert "Traceback" not in err
        assert "\n" not in err.strip()
        assert err.strip()


def test_database_url_is_read_and_a_bad_one_names_the_key(tmp_path: Path) -> None:
    pg = Settings.load(read_env=False, database={"url": "postgresql://rt@db.example/rt"})
    assert pg.database.database_url.is_postgresql
    lite = Settings.load(read_env=False, database={"url": f"sqlite:///{tmp_path}/a.sqlite3"})
    assert lite.database.path == tmp_path / "a.sqlite3"
    assert lite.database.database_url.path == tmp_path / "a.sqlite3"
    assert Settings.load(read_env=False).database.database_url.path == Path("data/roundtable.sqlite3")
    for bad, says in (
        ("postgresql://rt:hunter2@db/rt", "PGPASSWORD"),
        ("oracle://x/y", "unknown database kind"),
        ("postgresql://db:notaport/rt", "not a PostgreSQL URL"),
    ):
        with pytest.raises(ValidationError) as caught:
            Settings.load(read_env=False, database={"url": bad})
        assert "database.url" in str(caught.value)
        assert says in str(caught.value)
        assert "hunter2" not in str(caught.value).replace(bad, "")


WRITER = """
import asyncio, json, logging, pathlib, sys, time
from bot.config import Settings
from bot.engine import Actor, errors
from bot.service import Roundtable

class Retries(logging.Handler):
    seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        Retries.seen += "deciding again" in record.getMessage()

async def main(first: int, count: int, deliberation: int, barrier: str) -> None:
    logging.getLogger("bot.service").addHandler(Retries())
    logging.getLogger("bot.service").setLevel(logging.INFO)
    rt = await Roundtable.open(Settings.load(read_env=True))
    stored, refused = [], 0
    try:
        await rt.get(1001, deliberation)
        # Both writers start together: each says it is ready, then waits for the other.
        pathlib.Path(barrier, str(first)).touch()
        while len(list(pathlib.Path(barrier).iterdir())) < 2:
            time.sleep(0.005)
        for member in range(first, first + count):
            actor = Actor.human(member, f"Member {member}")
            try:
                say = lambda d, at, a=actor: d.state_position(a, "Yes", f"{a.key} says yes", at)
                await rt.act(1001, deliberation, say)
                stored.append(actor.key)
            except errors.ChangedMeanwhile:
                refused += 1
    finally:
        await rt.close()
    print(json.dumps({"stored": stored, "refused": refused, "retried": Retries.seen}))

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
"""


@BOTH
def test_two_bot_processes_writing_one_deliberation_never_fork_its_chain(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    async def start() -> int:
        rt = await Roundtable.open(settings, clock)
        try:
            return (await rt.start(GUILD, 5, Actor.human(10, "Mona"), "Fridays?")).deliberation.id
        finally:
            await rt.close()

    number = run(start())
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE")}
    env |= {
        "ROUNDTABLE_CONFIG": str(tmp_path / "no-config.toml"),
        "ROUNDTABLE__DATABASE__URL": str(settings.database.database_url),
        "ROUNDTABLE__DATABASE__PATH": str(settings.database.path),
        "ROUNDTABLE__AI__ENABLED": "false",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(first), "25", str(number), str(barrier)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first in (100, 200)
    ]
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    acknowledged = [key for r in results for key in r["stored"]]
    assert len(acknowledged) + sum(r["refused"] for r in results) == 50
    # They raced: appends were refused by the chain head and decided again.
    assert sum(r["retried"] for r in results) > 0

    async def check() -> None:
        rt = await Roundtable.open(settings, clock)
        try:
            events = await rt.store.load_events(GUILD, number)
            authors = [e.actor.key for e in events if e.kind.value == "contribution.added"]
            assert sorted(authors) == sorted(acknowledged)  # every acknowledged action, nothing else
            assert await rt.store.verify() == []
        finally:
            await rt.close()

    run(check())


def test_db_upgrade_creates_the_schema_on_an_empty_postgresql_database_once(
    capsys: pytest.CaptureFixture[str], fresh_pg: Callable[[], str]
) -> None:
    url = fresh_pg()
    code, out, err = cli(capsys, "db", "upgrade", "--db", url)
    assert code == 0, err
    assert "schema version 0 -> 6" in out
    code, out, err = cli(capsys, "db", "upgrade", "--db", url)
    assert "up to date (6)" in out
    # Migrations are numbered and tracked as on SQLite: the version is one row, the tables are there.
    assert run(pg_rows(url, "events")) == []

    async def version() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT max(version) FROM schema_version"))
        finally:
            await conn.close()

    assert run(version()) == 6


def test_run_with_an_unreachable_postgresql_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in [k for k in os.environ if k.startswith("ROUNDTABLE")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ROUNDTABLE_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("ROUNDTABLE__DISCORD__TOKEN", "a-token-never-sent")
    monkeypatch.setenv("ROUNDTABLE__DATABASE__URL", f"postgresql://nobody@/roundtable?host={tmp_path}")
    code, _, err = cli(capsys, "run")
    assert code == 2
    assert "Cannot open the database" in err
    assert "\n" not in err.strip()
    assert "Traceback" not in err
