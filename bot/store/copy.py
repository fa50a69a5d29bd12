"""`python -m bot db copy --from URL --to URL`: move an archive between SQLite and PostgreSQL.

Everything is copied row for row, events first (the truth; the rows derived from them after),
into an empty target in one transaction, with ids, hashes, signatures and keys as they are: the
chains are the same text on both backends, so the target verifies with the same keys. The
target is then proven whole (`verify`) before the copy is called done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
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
        writer = await open_store(dst, migrate=True)
        await writer.close()
        report = CopyReport()
        if dst.is_postgresql:
            await _into_postgres(reader, dst, report)
        else:
            assert dst.path is not None
            await _into_sqlite(reader, dst.path, report)
    finally:
        await reader.close()
    checker = await open_store(dst, migrate=False)
    try:
        report.problems = await checker.verify()
    finally:
        await checker.close()
    return report


async def _rows(store: Any, table: str) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The table's rows in batches, in a stable order, from either backend."""
    columns = ", ".join(table_columns(table))
    order = "stream, seq" if table == "events" else "1"
    sql = f"SELECT {columns} FROM {table} ORDER BY {order}"
    if getattr(store, "backend", "sqlite") == "postgresql":
        async with store._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            batch: list[tuple[Any, ...]] = []
            async for row in conn.cursor(sql):
                batch.append(tuple(row))
                if len(batch) >= _BATCH:
                    yield batch
                    batch = []
            if batch:
                yield batch
        return
    async with store._conn.execute(sql) as cursor:
        while rows := await cursor.fetchmany(_BATCH):
            yield [tuple(row) for row in rows]


async def _into_postgres(reader: Any, target: DatabaseURL, report: CopyReport) -> None:
    import asyncpg

    conn: asyncpg.Connection = await asyncpg.connect(**target.connect_kwargs())
    try:
        async with conn.transaction():
            await _refuse_unless_empty_pg(conn, str(target))
            # Events go in before the deliberations they belong to: checked at commit.
            await conn.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in TABLES:
                columns = list(table_columns(table))
                count = 0
                async for batch in _rows(reader, table):
                    await conn.copy_records_to_table(table, records=batch, columns=columns)
                    count += len(batch)
                report.rows[table] = count
            for table, column in _IDENTITIES.items():
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                )
    finally:
        await conn.close()


async def _refuse_unless_empty_pg(conn: asyncpg.Connection, name: str) -> None:
    for table in TABLES:
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            raise CopyRefused(f"{name}: not empty (its {table} has rows); db copy writes only into an empty database.")


async def _into_sqlite(reader: Any, path: Any, report: CopyReport) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in TABLES:
                if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
                    raise CopyRefused(
                        f"{path}: not empty (its {table} has rows); db copy writes only into an empty database."
                    )
            # Events go in before the deliberations they belong to: checked at commit.
            conn.execute("PRAGMA defer_foreign_keys = ON")
            for table in TABLES:
                columns = table_columns(table)
                insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                count = 0
                async for batch in _rows(reader, table):
                    conn.executemany(insert, batch)
                    count += len(batch)
                report.rows[table] = count
            # The full-text index of the records just copied (read from decision_records).
            conn.execute("INSERT INTO decision_records_fts (decision_records_fts) VALUES ('rebuild')")
            conn.execute("COMMIT")
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
