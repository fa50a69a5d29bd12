"""`python -m bot db copy --from URL --to URL`: move an archive between SQLite and PostgreSQL.

Everything is copied row for row, events first (the truth; the rows derived from them after),
from ONE snapshot of the source (a bot may be writing to it meanwhile), into an empty target in
one transaction, with ids, hashes, signatures and keys as they are: the chains are the same text
on both backends, so the target verifies with the same keys. The target is proven whole
(`verify`) inside that transaction, and committed only if it is: a failed copy leaves the target
as empty as it found it. A target holding anything else (another application's tables, or
Roundtable rows) is refused before anything is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.store.backend import database_url, open_store
from bot.store.schema import migrations, split_sql
from bot.store.url import DatabaseURL

if TYPE_CHECKING:
    import asyncpg

# Events first; then what is derived from them, parents before children.
TABLES = (
    "events",
    "deliberations",
    "contributions",
    "decision_records",
    "posts",
    "outbox",
    "guild_settings",
    "stream_heads",
    "signing_keys",
)
# Tables whose id the database hands out: PostgreSQL's identity must continue after the copy.
_IDENTITIES = {"events": "id", "deliberations": "id", "outbox": "id"}
_BATCH = 2000


class CopyRefused(Exception):
    """The copy cannot start: one line saying why (nothing was written)."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@cache
def table_columns(table: str) -> tuple[str, ...]:
    """A table's columns as Roundtable's migrations make them (the same on both backends)."""
    conn = sqlite3.connect(":memory:")
    try:
        for _, _, sql in migrations():
            for statement in split_sql(sql):
                conn.execute(statement)
        return tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
    finally:
        conn.close()


async def copy_database(source: DatabaseURL | str, target: DatabaseURL | str) -> CopyReport:
    src, dst = database_url(source), database_url(target)
    if str(src) == str(dst):
        raise CopyRefused("The source and the target are the same database.")
    if src.path is not None and not src.path.is_file():
        raise CopyRefused(f"No database at {src.path}.")
    latest = migrations()[-1][0]
    reader = await open_store(src, migrate=False)
    try:
        version = await reader.schema_version()
        if version == 0:
            raise CopyRefused(f"{src}: not a Roundtable database.")
        if version != latest:
            raise CopyRefused(
                f"{src}: schema version {version}, this release writes {latest}; "
                f"run `python -m bot db upgrade --db {src}` first."
            )
        # Before anything is written (the migration included): a target holding anything but an
        # empty Roundtable schema is refused, whoever's tables they are.
        await _refuse_unless_empty(dst)
        writer = await open_store(dst, migrate=True)
        await writer.close()
        report = CopyReport()
        async with _snapshot(reader) as rows:
            if dst.is_postgresql:
                await _into_postgres(rows, dst, report)
            else:
                assert dst.path is not None
                await _into_sqlite(rows, dst.path, report)
    finally:
        await reader.close()
    return report


# ---------------------------------------------------------------------- the target: empty or refused


def _roundtable_tables(backend: str) -> frozenset[str]:
    if backend == "postgresql":
        return frozenset(TABLES) | {"schema_version"}
    conn = sqlite3.connect(":memory:")
    try:
        for _, _, sql in migrations():
            for statement in split_sql(sql):
                conn.execute(statement)
        return frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        conn.close()


def _refusal(name: str, tables: set[str], backend: str) -> str | None:
    foreign = sorted(tables - _roundtable_tables(backend))
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        return f"{name}: holds tables that are not Roundtable's ({shown}); db copy writes only into an empty database."
    return None


async def _refuse_unless_empty(dst: DatabaseURL) -> None:
    """`CopyRefused` unless the target has no tables or only Roundtable's, all empty."""
    if dst.is_postgresql:
        import asyncpg

        conn = await asyncpg.connect(**dst.connect_kwargs())
        try:
            rows = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                " AND table_schema NOT LIKE 'pg\\_%'"
            )
            here = await conn.fetchval("SELECT current_schema()")
            names = {name if schema == here else f"{schema}.{name}" for schema, name in rows}
            if refusal := _refusal(str(dst), names, "postgresql"):
                raise CopyRefused(refusal)
            for table in TABLES:
                if table in names and await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise CopyRefused(_not_empty(str(dst), table))
        finally:
            await conn.close()
        return
    assert dst.path is not None
    if not dst.path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{dst.path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            names = {n for n in names if not n.startswith("sqlite_")}
            if refusal := _refusal(str(dst.path), names, "sqlite"):
                raise CopyRefused(refusal)
            for table in TABLES:
                if table in names and conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
                    raise CopyRefused(_not_empty(str(dst.path), table))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        why = f"{dst.path}: not an SQLite database ({exc}); db copy writes only into an empty one."
        raise CopyRefused(why) from None


def _not_empty(name: str, table: str) -> str:
    return f"{name}: not empty (its {table} has rows); db copy writes only into an empty database."


# ---------------------------------------------------------------------- the source: one snapshot

Rows = Callable[[str], AsyncIterator[list[tuple[Any, ...]]]]


@asynccontextmanager
async def _snapshot(store: Any) -> AsyncIterator[Rows]:
    """Every table read in ONE snapshot of the source (a live bot may be writing to it): one
    read transaction on one connection, so the copy is the database as it was at one instant."""
    if getattr(store, "backend", "sqlite") == "postgresql":
        async with store._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):

            async def pg_rows(table: str) -> AsyncIterator[list[tuple[Any, ...]]]:
                batch: list[tuple[Any, ...]] = []
                async for row in conn.cursor(_select(table)):
                    batch.append(tuple(row))
                    if len(batch) >= _BATCH:
                        yield batch
                        batch = []
                if batch:
                    yield batch

            yield pg_rows
        return
    db = store._conn
    # A deferred transaction's snapshot starts at its first read; WAL keeps it while writers go on.
    await db.execute("BEGIN")
    try:

        async def sqlite_rows(table: str) -> AsyncIterator[list[tuple[Any, ...]]]:
            async with db.execute(_select(table)) as cursor:
                while rows := await cursor.fetchmany(_BATCH):
                    yield [tuple(row) for row in rows]

        yield sqlite_rows
    finally:
        await db.execute("ROLLBACK")


def _select(table: str) -> str:
    """The table's rows in a stable order, the same columns on either backend."""
    order = "stream, seq" if table == "events" else "1"
    return f"SELECT {', '.join(table_columns(table))} FROM {table} ORDER BY {order}"


# ---------------------------------------------------------------------- the target: one transaction


async def _into_postgres(rows: Rows, target: DatabaseURL, report: CopyReport) -> None:
    import asyncpg

    from bot.store.pg_verify import verify_postgres_connection

    conn: asyncpg.Connection = await asyncpg.connect(**target.connect_kwargs())
    try:
        async with conn.transaction():
            await conn.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in TABLES:
                if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise CopyRefused(_not_empty(str(target), table))
            # Events go in before the deliberations they belong to: checked before the proof.
            for table in TABLES:
                columns = list(table_columns(table))
                count = 0
                async for batch in rows(table):
                    await conn.copy_records_to_table(table, records=batch, columns=columns)
                    count += len(batch)
                report.rows[table] = count
            for table, column in _IDENTITIES.items():
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                )
            await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # The proof runs on the rows as written, inside the transaction: a copy that is not
            # intact is rolled back, and the target stays empty for a retry.
            report.problems = (await verify_postgres_connection(conn)).problems
            if report.problems:
                raise _NotIntact
        # As after any bulk load (pg_restore's advice): statistics for the planner, and the
        # full-text index's pending list merged, or the first searches of a big archive read
        # every record of the guild (120 ms at 10,000 records before; docs/benchmarks.md).
        await conn.execute("VACUUM ANALYZE")
    except _NotIntact:
        pass
    finally:
        await conn.close()


class _NotIntact(Exception):
    """Raised inside the target's transaction to roll it back."""


async def _into_sqlite(rows: Rows, path: Any, report: CopyReport) -> None:
    from bot.store.verify import verify_database

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in TABLES:
                if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
                    raise CopyRefused(_not_empty(str(path), table))
            # Events go in before the deliberations they belong to: checked at commit.
            conn.execute("PRAGMA defer_foreign_keys = ON")
            for table in TABLES:
                columns = table_columns(table)
                insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                count = 0
                async for batch in rows(table):
                    conn.executemany(insert, batch)
                    count += len(batch)
                report.rows[table] = count
            # The full-text index of the records just copied (read from decision_records).
            conn.execute("INSERT INTO decision_records_fts (decision_records_fts) VALUES ('rebuild')")
            # The proof on the rows as written, before COMMIT: a copy that is not intact is rolled
            # back (foreign keys too: a dangling one is a problem, not a failed COMMIT).
            report.problems = verify_database(conn).problems + [
                f"{r[0]} #{r[1]}: names a missing {r[2]} row" for r in conn.execute("PRAGMA foreign_key_check")
            ]
            conn.execute("ROLLBACK" if report.problems else "COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def describe(report: CopyReport) -> str:
    rows: Sequence[tuple[str, int]] = [
        (t, report.rows.get(t, 0)) for t in ("events", "deliberations", "decision_records")
    ]
    return ", ".join(f"{n} {'records' if t == 'decision_records' else t}" for t, n in rows)


__all__ = ["TABLES", "CopyRefused", "CopyReport", "copy_database", "describe", "table_columns"]
