"""SQLite storage behind a small interface. Every query is scoped by guild.

Each deliberation's events are its truth: `append` writes them, hash-chained, in the same
transaction as the rows that queries read (the deliberation's summary, its contributions, and
the sealed record), so a crash leaves either all of an action or none of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

from bot.engine import errors
from bot.engine.model import Actor, Contribution, Event
from bot.engine.record import canonical_json, record_digest, render_markdown
from bot.store.chain import GENESIS, canonical, event_from_row, event_hash, event_row

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Ids per `IN (...)`: under the 999 variables an SQLite statement took before 3.32.
MAX_IN = 900

_T = TypeVar("_T")


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, SQL) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text()))
    return sorted(found)


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    moderator_role_id: int | None = None
    archive_channel_id: int | None = None
    ai_enabled: bool = True


@dataclass(frozen=True)
class DeliberationRow:
    """What lists and the scheduler need without replaying events."""

    id: int
    guild_id: int
    channel_id: int | None
    thread_id: int | None
    question: str
    template: str
    status: str
    round_kind: str | None
    deadline_at: datetime | None


@dataclass(frozen=True)
class OpenHere:
    """The open deliberation a thread or channel runs: `in_thread` if it is that thread's own."""

    id: int
    in_thread: bool


@dataclass(frozen=True)
class RecordSummary:
    deliberation_id: int
    question: str
    outcome: str
    sealed_at: datetime


@dataclass(frozen=True)
class StoredRecord:
    deliberation_id: int
    guild_id: int
    record: dict[str, Any]
    markdown: str
    chain_head: str


class Store:
    """One SQLite file. Open with `await Store.open(path)`; close with `await store.close()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        # One transaction at a time on the shared connection (see `transaction`).
        self._writer = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, migrate: bool = True) -> Store:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        store = cls(conn, path)
        try:
            await _run(conn, "PRAGMA journal_mode = WAL")
            await _run(conn, "PRAGMA foreign_keys = ON")
            await _run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # WAL with synchronous=NORMAL survives application crashes; only an OS crash can
            # lose the last transactions, never corrupt the file.
            await _run(conn, "PRAGMA synchronous = NORMAL")
            if migrate:
                await store.migrate()
        except BaseException:
            await conn.close()
            raise
        return store

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> tuple[int, int]:
        """Apply every migration newer than the file's `user_version`, each in its own transaction."""
        start = current = await self.schema_version()
        for number, name, sql in migrations():
            if number <= current:
                continue
            log.info("applying migration %s", name)
            await _run(self._conn, "BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(sql):
                    await _run(self._conn, statement)
                await _run(self._conn, f"PRAGMA user_version = {number}")
                await _run(self._conn, "COMMIT")
            except BaseException:
                await _run(self._conn, "ROLLBACK")
                raise
            current = number
        return start, current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """All or nothing: an exception inside rolls everything back.

        One at a time: the connection is shared and SQLite has one transaction per connection, so a
        second writer waits here rather than failing with "cannot start a transaction within a
        transaction" (two deliberations acting at once).
        """
        async with self._writer:
            await _run(self._conn, "BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await _run(self._conn, "ROLLBACK")
                raise
            await _run(self._conn, "COMMIT")

    async def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """`fn(conn)` as one transaction in one round trip to the connection's thread.

        Each await on aiosqlite is a hop to its thread and back; a write that needs no answer in
        between is cheaper done whole over there.
        """
        async with self._writer:
            return await _on_connection_thread(self._conn, _in_transaction, fn)

    # ------------------------------------------------------------------ events

    async def _append_events(
        self, db: aiosqlite.Connection, guild_id: int, stream: str, deliberation_id: int | None, events: Sequence[Event]
    ) -> str:
        rows = [event_row(event) for event in events]
        return await _on_connection_thread(db, _write_events, guild_id, stream, deliberation_id, rows)

    async def create_deliberation(
        self,
        guild_id: int,
        channel_id: int | None,
        events: Sequence[Event],
        *,
        question: str,
        template: str,
        round_kind: str,
        deadline_at: datetime | None,
        ai_due_at: datetime | None = None,
    ) -> int:
        """Store a new deliberation's opening events; returns its id.

        `ai_due_at`: when its AI participants may next be due to state positions (see `append`).
        """
        async with self.transaction() as db:
            async with db.execute(
                "INSERT INTO deliberations (guild_id, channel_id, question, template, status, round_kind,"
                " deadline_at, ai_due_at, created_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)",
                (
                    guild_id,
                    channel_id,
                    question,
                    template,
                    round_kind,
                    _iso(deadline_at),
                    _iso(ai_due_at),
                    events[0].at.isoformat(),
                ),
            ) as cur:
                deliberation_id = cur.lastrowid
            assert deliberation_id is not None
            await self._append_events(db, guild_id, f"d:{deliberation_id}", deliberation_id, events)
        return deliberation_id

    async def append(
        self,
        guild_id: int,
        deliberation_id: int,
        events: Sequence[Event],
        *,
        status: str,
        round_kind: str | None,
        deadline_at: datetime | None,
        ai_due_at: datetime | None = None,
        contributions: Iterable[Contribution] = (),
        record: dict[str, Any] | None = None,
    ) -> str:
        """Append events and the state they change, in one transaction. Returns the chain head.

        A `record` passed here is sealed by the head of the chain these events end. `ai_due_at`
        is when the deliberation's AI participants may next be due to state positions (None when
        none is waiting): a start schedules their timers from it (`ai_due`) without replaying.
        """
        # Everything but the record is prepared here and written in one call on the connection's
        # thread: each await on aiosqlite is a round trip to that thread, and they were most of
        # the cost of an action.
        stream = f"d:{deliberation_id}"
        prepared = [event_row(event) for event in events]
        closed_at = events[-1].at.isoformat() if status != "open" else None
        rows = [
            (
                deliberation_id,
                c.id,
                guild_id,
                c.kind.value,
                c.author,
                c.author.partition(":")[0],
                c.stance,
                c.text,
                json.dumps(c.ai_meta) if c.ai_meta else None,
                c.at.isoformat(),
                _iso(c.updated_at),
            )
            for c in contributions
        ]

        def write(conn: sqlite3.Connection) -> str:
            # The guild-scoped update doubles as the check that the deliberation is this guild's:
            # no row changed means nothing here, and the transaction rolls back.
            updated = conn.execute(
                "UPDATE deliberations SET status = ?, round_kind = ?, deadline_at = ?, ai_due_at = ?, closed_at = ?"
                " WHERE id = ? AND guild_id = ?",
                (status, round_kind, _iso(deadline_at), _iso(ai_due_at), closed_at, deliberation_id, guild_id),
            )
            if updated.rowcount != 1:
                raise _not_found(deliberation_id)
            head = _write_events(conn, guild_id, stream, deliberation_id, prepared)
            if rows:
                conn.executemany(
                    "INSERT INTO contributions (deliberation_id, id, guild_id, kind, author, author_kind, stance,"
                    " text, ai_meta, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (deliberation_id, id) DO UPDATE SET stance = excluded.stance,"
                    " text = excluded.text, updated_at = excluded.updated_at",
                    rows,
                )
            return head

        if record is None:
            return await self._write(write)
        async with self.transaction() as db:
            head = await _on_connection_thread(db, write)
            await self._insert_record(db, guild_id, deliberation_id, record, head)
        return head

    async def _insert_record(
        self, db: aiosqlite.Connection, guild_id: int, deliberation_id: int, record: dict[str, Any], head: str
    ) -> None:
        sealed = {**record, "chain_head": head}
        markdown = render_markdown(sealed)
        await _run(
            db,
            "INSERT INTO decision_records (deliberation_id, guild_id, question, outcome, sealed_at, chain_head,"
            " digest, record_json, markdown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                deliberation_id,
                guild_id,
                record["question"],
                record["outcome"]["kind"],
                record["closed_at"],
                head,
                record_digest(record),
                canonical_json(sealed),
                markdown,
            ),
        )
        await _run(
            db,
            "INSERT INTO decision_records_fts (rowid, question, markdown, guild_id) VALUES (?, ?, ?, ?)",
            (deliberation_id, record["question"], markdown, guild_id),
        )

    async def _require_deliberation(self, db: aiosqlite.Connection, guild_id: int, deliberation_id: int) -> None:
        async with db.execute(
            "SELECT 1 FROM deliberations WHERE id = ? AND guild_id = ?", (deliberation_id, guild_id)
        ) as cur:
            if await cur.fetchone() is None:
                raise _not_found(deliberation_id)

    async def load_events(self, guild_id: int, deliberation_id: int) -> list[Event]:
        """A deliberation's events in order; another guild's id is as unknown as a missing one."""
        await self._require_deliberation(self._conn, guild_id, deliberation_id)
        async with self._conn.execute(
            "SELECT kind, actor, actor_name, at, payload FROM events WHERE deliberation_id = ? AND guild_id = ?"
            " ORDER BY seq",
            (deliberation_id, guild_id),
        ) as cur:
            return [event_from_row(*row) async for row in cur]

    # ------------------------------------------------------------------ deliberations

    async def deliberation(self, guild_id: int, deliberation_id: int) -> DeliberationRow:
        async with self._conn.execute(
            "SELECT * FROM deliberations WHERE id = ? AND guild_id = ?", (deliberation_id, guild_id)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise _not_found(deliberation_id)
        return _deliberation_row(row)

    async def deliberations(
        self, guild_id: int, *, status: str | None = "open", limit: int = 100
    ) -> list[DeliberationRow]:
        sql = "SELECT * FROM deliberations WHERE guild_id = ?"
        params: list[Any] = [guild_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        async with self._conn.execute(sql, params) as cur:
            return [_deliberation_row(row) async for row in cur]

    async def open_deadlines(self, guild_ids: Iterable[int]) -> dict[int, list[tuple[int, datetime]]]:
        """The current deadlines of the open deliberations of these guilds (and no others), by guild.

        One query per `MAX_IN` guilds, for a start that restores every guild at once. Each guild's
        list is newest first, as `deliberations` lists them.
        """
        return await self._open_times(guild_ids, "deadline_at")

    async def ai_due_times(self, guild_ids: Iterable[int]) -> dict[int, list[tuple[int, datetime]]]:
        """When the AI participants of these guilds' open deliberations may next be due, by guild.

        Only deliberations with an AI participant still waiting (`ai_due_at` set); newest first.
        """
        return await self._open_times(guild_ids, "ai_due_at")

    async def _open_times(
        self, guild_ids: Iterable[int], column: Literal["deadline_at", "ai_due_at"]
    ) -> dict[int, list[tuple[int, datetime]]]:
        found: dict[int, list[tuple[int, datetime]]] = {}
        for chunk in _chunks(guild_ids):
            async with self._conn.execute(
                f"SELECT guild_id, id, {column} FROM deliberations"
                f" WHERE guild_id IN ({', '.join('?' * len(chunk))}) AND status = 'open'"
                f" AND {column} IS NOT NULL ORDER BY guild_id, id DESC",
                chunk,
            ) as cur:
                async for guild_id, deliberation_id, when in cur:
                    found.setdefault(guild_id, []).append((deliberation_id, datetime.fromisoformat(when)))
        return found

    async def open_deliberation_at(self, guild_id: int, channel_id: int | None) -> OpenHere | None:
        """The open deliberation run in this thread, else the newest run in this channel without a thread.

        Two indexed lookups (migration 0003) in one round trip, however many deliberations the guild has.
        """

        if channel_id is None:
            return None

        def lookup(conn: sqlite3.Connection) -> OpenHere | None:
            row = conn.execute(
                "SELECT id FROM deliberations WHERE guild_id = ? AND thread_id = ? AND status = 'open'"
                " ORDER BY id DESC LIMIT 1",
                (guild_id, channel_id),
            ).fetchone()
            if row is not None:
                return OpenHere(row[0], in_thread=True)
            row = conn.execute(
                "SELECT id FROM deliberations WHERE guild_id = ? AND channel_id = ? AND status = 'open'"
                " AND thread_id IS NULL ORDER BY id DESC LIMIT 1",
                (guild_id, channel_id),
            ).fetchone()
            return OpenHere(row[0], in_thread=False) if row is not None else None

        return await _on_connection_thread(self._conn, lookup)

    async def set_location(
        self, guild_id: int, deliberation_id: int, *, channel_id: int | None, thread_id: int | None
    ) -> None:
        """Where the deliberation runs in Discord (known only after its thread is made)."""

        def write(conn: sqlite3.Connection) -> None:
            _check_deliberation(conn, guild_id, deliberation_id)
            conn.execute(
                "UPDATE deliberations SET channel_id = ?, thread_id = ? WHERE id = ? AND guild_id = ?",
                (channel_id, thread_id, deliberation_id, guild_id),
            )

        await self._write(write)

    async def save_post(self, guild_id: int, deliberation_id: int, ref: str, channel_id: int, message_id: int) -> None:
        def write(conn: sqlite3.Connection) -> None:
            _check_deliberation(conn, guild_id, deliberation_id)
            conn.execute(
                "INSERT INTO posts (guild_id, deliberation_id, ref, channel_id, message_id) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (deliberation_id, ref) DO UPDATE SET channel_id = excluded.channel_id,"
                " message_id = excluded.message_id",
                (guild_id, deliberation_id, ref, channel_id, message_id),
            )

        await self._write(write)

    async def post(self, guild_id: int, deliberation_id: int, ref: str) -> tuple[int, int] | None:
        async with self._conn.execute(
            "SELECT channel_id, message_id FROM posts WHERE guild_id = ? AND deliberation_id = ? AND ref = ?",
            (guild_id, deliberation_id, ref),
        ) as cur:
            row = await cur.fetchone()
        return (row[0], row[1]) if row else None

    # ------------------------------------------------------------------ guild settings

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        async with self._conn.execute(
            "SELECT moderator_role_id, archive_channel_id, ai_enabled FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return GuildSettings(guild_id)
        return GuildSettings(guild_id, row[0], row[1], bool(row[2]))

    async def save_guild_settings(self, settings: GuildSettings, actor: Actor, at: datetime) -> None:
        """Guild settings change through an event in the guild's own chain, like everything else."""
        payload = {
            "moderator_role_id": settings.moderator_role_id,
            "archive_channel_id": settings.archive_channel_id,
            "ai_enabled": settings.ai_enabled,
        }
        async with self.transaction() as db:
            await self._append_events(
                db, settings.guild_id, f"g:{settings.guild_id}", None, [Event("guild.configured", actor, at, payload)]
            )
            await _run(
                db,
                "INSERT INTO guild_settings (guild_id, moderator_role_id, archive_channel_id, ai_enabled, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " moderator_role_id = excluded.moderator_role_id, archive_channel_id = excluded.archive_channel_id,"
                " ai_enabled = excluded.ai_enabled, updated_at = excluded.updated_at",
                (
                    settings.guild_id,
                    settings.moderator_role_id,
                    settings.archive_channel_id,
                    int(settings.ai_enabled),
                    at.isoformat(),
                ),
            )

    # ------------------------------------------------------------------ records

    async def record(self, guild_id: int, deliberation_id: int) -> StoredRecord:
        async with self._conn.execute(
            "SELECT deliberation_id, guild_id, record_json, markdown, chain_head FROM decision_records"
            " WHERE deliberation_id = ? AND guild_id = ?",
            (deliberation_id, guild_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise errors.NotFound(f"There is no sealed decision record #{deliberation_id} in this server.")
        return StoredRecord(row[0], row[1], json.loads(row[2]), row[3], row[4])

    async def list_records(self, guild_id: int, *, limit: int = 20, before: int | None = None) -> list[RecordSummary]:
        """Newest first; `before` is the last record of the previous page, and the page after it follows.

        Keyset paging on the order itself (sealed time, then id), so any page is one index range.
        """
        sql = "SELECT deliberation_id, question, outcome, sealed_at FROM decision_records WHERE guild_id = ?"
        params: list[Any] = [guild_id]
        if before is not None:
            sql += (
                " AND (sealed_at, deliberation_id) < (SELECT sealed_at, deliberation_id FROM decision_records"
                " WHERE deliberation_id = ? AND guild_id = ?)"
            )
            params += [before, guild_id]
        sql += " ORDER BY sealed_at DESC, deliberation_id DESC LIMIT ?"
        params.append(limit)
        async with self._conn.execute(sql, params) as cur:
            return [RecordSummary(r[0], r[1], r[2], datetime.fromisoformat(r[3])) async for r in cur]

    async def search_records(self, guild_id: int, query: str, *, limit: int = 20) -> list[RecordSummary]:
        """Full-text search over questions and records; every word must appear. Newest first.

        The guild is part of the match, so the index yields only this guild's records (see
        migration 0002); the words are matched in the question and the record only. Newest
        first, like Discord's own search, lets the index walk its matches in id order and stop
        at `limit`: ranking by relevance would score every match, which grows with the archive.
        """
        words = [w for w in query.split() if w.strip()]
        if not words:
            raise errors.EmptyText("Search for at least one word.")
        phrases = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        match = f'guild_id : "{int(guild_id)}" AND {{question markdown}} : ({phrases})'
        async with self._conn.execute(
            "SELECT r.deliberation_id, r.question, r.outcome, r.sealed_at FROM decision_records_fts f"
            " JOIN decision_records r ON r.deliberation_id = f.rowid"
            " WHERE decision_records_fts MATCH ? AND r.guild_id = ? ORDER BY f.rowid DESC LIMIT ?",
            (match, guild_id, limit),
        ) as cur:
            return [RecordSummary(r[0], r[1], r[2], datetime.fromisoformat(r[3])) async for r in cur]

    async def all_records(self, guild_id: int) -> AsyncIterator[StoredRecord]:
        async with self._conn.execute(
            "SELECT deliberation_id, guild_id, record_json, markdown, chain_head FROM decision_records"
            " WHERE guild_id = ? ORDER BY deliberation_id",
            (guild_id,),
        ) as cur:
            async for row in cur:
                yield StoredRecord(row[0], row[1], json.loads(row[2]), row[3], row[4])

    # ------------------------------------------------------------------ verification

    async def counts(self) -> dict[str, int]:
        """Rows in the tables an operator asks about; for the CLI's report, not for features."""
        result = {}
        for table in ("events", "deliberations", "decision_records"):
            async with self._conn.execute(f"SELECT count(*) FROM {table}") as cur:
                row = await cur.fetchone()
            result["records" if table == "decision_records" else table] = int(row[0]) if row else 0
        return result

    async def guild_ids(self) -> list[int]:
        """The guilds this database holds deliberations or settings for, for the CLI to name."""
        async with self._conn.execute(
            "SELECT guild_id FROM deliberations UNION SELECT guild_id FROM guild_settings ORDER BY guild_id"
        ) as cur:
            return [int(row[0]) async for row in cur]

    async def verify(self) -> list[str]:
        """Recompute every chain and every sealed record. Returns problems; empty means intact."""
        from bot.store.verify import verify_connection

        return await verify_connection(self._conn)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (sqlite3 knows where a trigger body ends)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


async def _on_connection_thread(db: aiosqlite.Connection, fn: Callable[..., _T], *args: Any) -> _T:
    """Run `fn(sqlite3 connection, *args)` on the aiosqlite connection's own thread: one round trip.

    aiosqlite has no public call for this; `_execute` and `_conn` are what its own methods use.
    """
    return await db._execute(lambda: fn(db._conn, *args))


def _check_deliberation(conn: sqlite3.Connection, guild_id: int, deliberation_id: int) -> None:
    if (
        conn.execute(
            "SELECT 1 FROM deliberations WHERE id = ? AND guild_id = ?", (deliberation_id, guild_id)
        ).fetchone()
        is None
    ):
        raise _not_found(deliberation_id)


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], _T]) -> _T:
    """`fn(conn)` between BEGIN IMMEDIATE and COMMIT, rolled back if anything fails (the commit too)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _write_events(
    conn: sqlite3.Connection,
    guild_id: int,
    stream: str,
    deliberation_id: int | None,
    rows: Sequence[tuple[str, str, str, str, str]],
) -> str:
    """Chain `rows` (as `event_row` gives them) onto the stream's head and insert them; returns the new head."""
    head = conn.execute("SELECT seq, hash FROM events WHERE stream = ? ORDER BY seq DESC LIMIT 1", (stream,)).fetchone()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    values = []
    for kind, actor, actor_name, at, payload in rows:
        seq += 1
        digest = event_hash(prev, stream, seq, kind, actor, actor_name, at, payload)
        values.append((guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload, prev, digest))
        prev = digest
    conn.executemany(
        "INSERT INTO events (guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )
    return prev


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """`ids` (deduplicated) in lists short enough for one statement's `IN (?, ...)`."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), MAX_IN):
        yield unique[start : start + MAX_IN]


async def _run(db: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> None:
    """Execute a statement and close its cursor at once: an open cursor (even of a PRAGMA that
    returns a row) keeps a statement in progress, and a later COMMIT then fails."""
    cursor = await db.execute(sql, params)
    await cursor.close()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _not_found(deliberation_id: int) -> errors.NotFound:
    return errors.NotFound(f"There is no deliberation #{deliberation_id} in this server.")


def _deliberation_row(row: aiosqlite.Row) -> DeliberationRow:
    return DeliberationRow(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        thread_id=row["thread_id"],
        question=row["question"],
        template=row["template"],
        status=row["status"],
        round_kind=row["round_kind"],
        deadline_at=datetime.fromisoformat(row["deadline_at"]) if row["deadline_at"] else None,
    )


__all__ = [
    "DeliberationRow",
    "GuildSettings",
    "OpenHere",
    "RecordSummary",
    "Store",
    "StoredRecord",
    "canonical",
    "migrations",
]
