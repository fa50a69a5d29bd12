"""`verify` on PostgreSQL: the same whole-database proof as SQLite's, plus PostgreSQL's own schema.

The proof (bot/store/verify.py) reads rows through a `sqlite3` connection. Rather than write it
twice, the PostgreSQL database's rows are read, in one repeatable-read snapshot, into a temporary
SQLite file with Roundtable's own schema, and the same checks run there: every chain, head,
signature, ledger, replay and derived row is checked by the very code that checks SQLite. What
the copy cannot see is checked on the server itself:

- the schema: tables, columns, constraints, indexes, triggers (and their enable mode: a trigger
  switched to REPLICA or ALWAYS differs), rules (none), persistence (no UNLOGGED table), row
  security and policies (none), and the append-only function must
  be exactly what PostgreSQL's migrations create (they are created afresh in a scratch schema
  inside a transaction that is rolled back, and the catalogs compared), and `schema_version` is
  the latest;
- the text search: every record's `search` vector is what its question and Markdown give.

Nothing is written to the database (the scratch schema is rolled back).
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.store.schema import migrations, pg_migrations, split_sql
from bot.store.verify import Report, verify_database

if TYPE_CHECKING:
    import asyncpg

# Tables copied into the SQLite snapshot (its FTS index is rebuilt there from decision_records).
TABLES = (
    "guild_settings",
    "deliberations",
    "events",
    "contributions",
    "decision_records",
    "posts",
    "stream_heads",
    "signing_keys",
    "outbox",
)
_BATCH = 5000


async def verify_postgres(pool: asyncpg.Pool, public_key: bytes | None = None, anchors: str = "") -> Report:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await verify_postgres_connection(conn, public_key, anchors)


async def verify_postgres_connection(
    conn: asyncpg.Connection, public_key: bytes | None = None, anchors: str = ""
) -> Report:
    """The proof, on a connection already inside a transaction (its snapshot is what is proven;
    `db copy` proves its rows before it commits them)."""
    with tempfile.TemporaryDirectory(prefix="roundtable-verify-") as scratch:
        snapshot = sqlite3.connect(Path(scratch) / "snapshot.sqlite3", isolation_level=None)
        try:
            snapshot.execute("PRAGMA journal_mode = OFF")
            snapshot.execute("PRAGMA synchronous = OFF")
            for _, _, sql in migrations():
                for statement in split_sql(sql):
                    snapshot.execute(statement)
            version = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
            snapshot.execute(f"PRAGMA user_version = {int(version)}")
            snapshot.execute("BEGIN")
            duplicates: list[str] = await _forks(conn)
            for table in TABLES:
                duplicates += await _copy_table(conn, snapshot, table)
            snapshot.execute("INSERT INTO decision_records_fts (decision_records_fts) VALUES ('rebuild')")
            snapshot.execute("COMMIT")
            server_problems = duplicates + await _check_server_schema(conn, pg_migrations()) + await _check_search(conn)
            report = verify_database(snapshot, public_key, anchors)
        finally:
            snapshot.close()
    # The snapshot's own schema is the migrations' by construction; the server's was checked above.
    report.problems = [p.replace("user_version", "schema_version") for p in report.problems] + server_problems
    return report


async def _forks(conn: asyncpg.Connection) -> list[str]:
    """Two events at one place in a chain (the server's UNIQUE (stream, seq) dropped): a fork."""
    rows = await conn.fetch(
        "SELECT stream, seq, count(*) FROM events GROUP BY stream, seq HAVING count(*) > 1 ORDER BY 1, 2 LIMIT 20"
    )
    return [f"{stream}: {n} events at seq {seq} (the chain is forked)" for stream, seq, n in rows]


async def _copy_table(conn: asyncpg.Connection, snapshot: sqlite3.Connection, table: str) -> list[str]:
    """Copy the table's rows; rows the snapshot's keys refuse (a key the server no longer
    enforces) are not copied but named, so verify reports them instead of crashing."""
    columns = [row[1] for row in snapshot.execute(f"PRAGMA table_info({table})")]
    names = ", ".join(columns)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    cursor = conn.cursor(f"SELECT {names} FROM {table} ORDER BY 1")
    batch: list[tuple[Any, ...]] = []
    read = 0
    before = snapshot.total_changes
    async for row in cursor:
        batch.append(tuple(row))
        read += 1
        if len(batch) >= _BATCH:
            snapshot.executemany(insert, batch)
            batch.clear()
    if batch:
        snapshot.executemany(insert, batch)
    kept = snapshot.total_changes - before
    if kept != read:
        return [f"{table}: {read - kept} rows repeat another row's key (a key the server no longer enforces)"]
    return []


# ---------------------------------------------------------------------- the server's schema

_CATALOG = """
SELECT 'column' AS kind, c.table_name || '.' || c.column_name AS name,
       concat_ws(' ', c.data_type, c.is_nullable, c.column_default, c.is_identity, c.generation_expression) AS def
  FROM information_schema.columns c WHERE c.table_schema = $1
UNION ALL
SELECT 'table', t.table_name, t.table_type FROM information_schema.tables t WHERE t.table_schema = $1
UNION ALL
SELECT 'index', i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = $1
UNION ALL
SELECT 'constraint', cl.relname || '.' || co.conname, pg_get_constraintdef(co.oid)
  FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
 WHERE n.nspname = $1
UNION ALL
SELECT 'trigger', cl.relname || '.' || tg.tgname,
       pg_get_triggerdef(tg.oid) || ' enabled=' || tg.tgenabled::text
  FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
 WHERE n.nspname = $1 AND NOT tg.tgisinternal
UNION ALL
SELECT 'rule', cl.relname || '.' || r.rulename, pg_get_ruledef(r.oid)
  FROM pg_rewrite r JOIN pg_class cl ON cl.oid = r.ev_class JOIN pg_namespace n ON n.oid = cl.relnamespace
 WHERE n.nspname = $1 AND r.rulename <> '_RETURN'
UNION ALL
SELECT 'storage', cl.relname,
       'persistence=' || cl.relpersistence::text || ' rls=' || cl.relrowsecurity::text
       || ' forced=' || cl.relforcerowsecurity::text
  FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
 WHERE n.nspname = $1 AND cl.relkind IN ('r', 'p')
UNION ALL
SELECT 'policy', cl.relname || '.' || po.polname, coalesce(pg_get_expr(po.polqual, po.polrelid), '')
  FROM pg_policy po JOIN pg_class cl ON cl.oid = po.polrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
 WHERE n.nspname = $1
UNION ALL
SELECT 'function', p.proname, p.prosrc
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1
"""


async def _catalog(conn: asyncpg.Connection, schema: str) -> set[tuple[str, str, str]]:
    rows = await conn.fetch(_CATALOG, schema)
    qualified = re.compile(rf"\b{re.escape(schema)}\.")
    found = set()
    for kind, name, definition in rows:
        if name == "schema_version" or name.startswith("schema_version."):
            continue
        found.add((kind, name, qualified.sub("", definition or "")))
    return found


async def _check_server_schema(conn: asyncpg.Connection, pg_migrations: list[tuple[int, str, str]]) -> list[str]:
    live = await conn.fetchval("SELECT current_schema()")
    actual = await _catalog(conn, live)
    # A name no one else uses (a schema left by someone, or a concurrent verify, must not clash).
    scratch = f"roundtable_verify_{secrets.token_hex(6)}"
    # A savepoint inside the snapshot's transaction: the scratch schema is created, read and
    # rolled back, so verify writes nothing.
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(f"CREATE SCHEMA {scratch}")
        await conn.execute(f"SET LOCAL search_path = {scratch}")
        for _, _, sql in pg_migrations:
            await conn.execute(sql)
        expected = await _catalog(conn, scratch)
    finally:
        await transaction.rollback()
    problems = []
    by_name = {(kind, name) for kind, name, _ in actual}
    for kind, name, _ in sorted(expected - actual):
        if (kind, name) in by_name:
            problems.append(f"schema: {kind} {name} differs from what the migrations create")
        else:
            problems.append(f"schema: {kind} {name} is missing (dropped)")
    expected_names = {(kind, name) for kind, name, _ in expected}
    for kind, name, _ in sorted(actual - expected):
        if (kind, name) not in expected_names:
            problems.append(f"schema: {kind} {name} is not Roundtable's (added)")
    return problems


async def _check_search(conn: asyncpg.Connection) -> list[str]:
    """The generated search vectors against their records (a column altered to a plain one shows
    in the schema check; this catches its values)."""
    exists = await conn.fetchval(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = 'decision_records' AND column_name = 'search'"
    )
    if not exists:
        return []
    rows = await conn.fetch(
        "SELECT deliberation_id FROM decision_records"
        " WHERE search IS DISTINCT FROM to_tsvector('simple', roundtable_search_text(question || ' ' || markdown))"
        " ORDER BY 1"
    )
    return [f"decision_records #{row[0]}: column search (the text search) differs from its record" for row in rows]


__all__ = ["TABLES", "verify_postgres", "verify_postgres_connection"]
