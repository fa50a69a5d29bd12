"""SQLite storage behind a small interface. Every query is scoped by guild.

Each deliberation's events are its truth: `append` writes them, hash-chained, in the same
transaction as the rows that queries read (the deliberation's summary, its contributions, and
the sealed record), so a crash leaves either all of an action or none of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

from bot.engine import errors
from bot.engine.events import Event, EventKind, GuildConfigured
from bot.engine.model import Actor, Contribution
from bot.engine.record import Record, record_digest, record_json
from bot.store.chain import GENESIS, canonical, event_from_row, event_hash, event_row
from bot.store.faults import Outage, guard, sqlite_fault
from bot.store.group_commit import GroupCommit
from bot.store.schema import SIGNED_SINCE, migrations, split_sql
from bot.store.signing import Signer, encode_public_key, head_message

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# Ids per `IN (...)`: under the 999 variables an SQLite statement took before 3.32.
MAX_IN = 900

_T = TypeVar("_T")

# The events a guild's ledger records (see migration 0004): a deliberation ending either way.
TERMINAL_KINDS = frozenset({EventKind.SEALED, EventKind.CANCELLED})
LEDGER_ACTOR = ("system:ledger", "ledger")
# Search words as the full-text index's tokenizer (unicode61) sees them: letters and digits.
_SEARCH_WORD = re.compile(r"[^\W_]+")
# PostgreSQL does not index a word of 2,048 bytes or more; neither backend searches for one.
_LONGEST_WORD = 2047


def search_words(query: str) -> list[str]:
    """The words a search looks for, the same on both backends."""
    return [w for w in _SEARCH_WORD.findall(query) if len(w.encode("utf-8", "replace")) <= _LONGEST_WORD]


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
class PendingPost:
    """A post the bot owes Discord (see the outbox in migration 0005)."""

    ref: str
    attempts: int
    retry_at: datetime | None


@dataclass(frozen=True)
class Head:
    """A chain's last event as written, and the bot's signature of it (None without a key)."""

    stream: str
    seq: int
    hash: str
    key_id: str | None = None
    signature: str | None = None


@dataclass(frozen=True)
class StoredRecord:
    deliberation_id: int
    guild_id: int
    record: dict[str, Any]
    markdown: str
    chain_head: str
    # Where the chain head sits and the bot's signature of it (None for records sealed before
    # signing, or by a bot without a key).
    seal_seq: int | None = None
    key_id: str | None = None
    signature: str | None = None

    @property
    def anchor(self) -> str:
        """One line to post where no database edit reaches (the thread); `verify --anchors` reads it back."""
        line = f"roundtable-anchor {self.guild_id} d:{self.deliberation_id} {self.seal_seq or 0} {self.chain_head}"
        return f"{line} {self.key_id} {self.signature}" if self.signature else line


class Store:
    """One SQLite file. Open with `await Store.open(path)`; close with `await store.close()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, signer: Signer | None = None) -> None:
        self._conn = conn
        self.path = path
        # Signs every chain head this store writes; None writes unsigned heads (tools, old tests).
        self.signer = signer
        # One transaction at a time on the shared connection (see `transaction`).
        self._writer = asyncio.Lock()
        # Writes that arrive together share a transaction (bot/store/group_commit.py).
        self.group = GroupCommit(conn, self._writer)
        # Notes when the file stops taking reads or writes, and when it is back (bot/store/faults.py).
        self.outage = Outage("SQLite")

    @classmethod
    async def open(cls, path: Path | str, *, migrate: bool = True, signer: Signer | None = None) -> Store:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        store = cls(conn, path, signer)
        try:
            await _run(conn, "PRAGMA journal_mode = WAL")
            await _run(conn, "PRAGMA foreign_keys = ON")
            await _run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # FULL: a write the bot acknowledged survives a power loss too (NORMAL in WAL mode
            # could lose the last transactions to an OS crash). Its cost is in docs/benchmarks.md.
            await _run(conn, "PRAGMA synchronous = FULL")
            if migrate:
                await store.migrate()
            if signer is not None and await store.schema_version() >= SIGNED_SINCE:
                await store._write(lambda c: _register_key(c, signer))
        except BaseException:
            await conn.close()
            raise
        return store

    async def close(self) -> None:
        await self.group.drain()
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
                for statement in split_sql(sql):
                    await _run(self._conn, statement)
                if number in _MIGRATION_STEPS:
                    await _on_connection_thread(self._conn, _MIGRATION_STEPS[number])
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
                # SQLite has already rolled back after some errors (a disk I/O error): a second
                # ROLLBACK would fail and hide the error that matters.
                if self._conn.in_transaction:
                    await _run(self._conn, "ROLLBACK")
                raise
            await _run(self._conn, "COMMIT")

    async def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """`fn(conn)` as one transaction in one round trip to the connection's thread.

        Each await on aiosqlite is a hop to its thread and back; a write that needs no answer in
        between is cheaper done whole over there. Writes that arrive together share one
        transaction (group commit), each in its own savepoint; each caller returns after the commit.
        """
        return await self.group.submit(fn)

    # ------------------------------------------------------------------ events

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
        owed: Sequence[str] = (),
    ) -> int:
        """Store a new deliberation's opening events (and the posts they owe); returns its id.

        `ai_due_at`: when its AI participants may next be due to state positions (see `append`).
        """
        signer = self.signer
        values = (
            guild_id,
            channel_id,
            question,
            template,
            round_kind,
            _iso(deadline_at),
            _iso(ai_due_at),
            events[0].at.isoformat(),
        )
        rows = [event_row(event) for event in events]

        def write(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO deliberations (guild_id, channel_id, question, template, status, round_kind,"
                " deadline_at, ai_due_at, created_at) VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?)",
                values,
            )
            deliberation_id = cur.lastrowid
            assert deliberation_id is not None
            stream = f"d:{deliberation_id}"
            _write_chain(conn, signer, guild_id, stream, deliberation_id, rows)
            first = conn.execute("SELECT hash FROM events WHERE stream = ? AND seq = 1", (stream,)).fetchone()[0]
            opened = {"deliberation": deliberation_id, "seq": 1, "head": first}
            _write_ledger(conn, signer, guild_id, "ledger.opened", opened, rows[0][3])
            _owe(conn, guild_id, deliberation_id, owed, rows[0][3])
            return deliberation_id

        return await self._write(write)

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
        record: Record | None = None,
        markdown: str = "",
        owed: Sequence[str] = (),
        expect_seq: int | None = None,
    ) -> str:
        """Append events and the state they change, in one transaction. Returns the chain head.

        `expect_seq`: the seq of the head these events extend (compare-and-set): if another writer
        (a second process) appended since, this append is refused with `ChangedMeanwhile`.

        A `record` passed here (with its rendered `markdown`) is sealed by the head of the chain
        these events end. `ai_due_at`
        is when the deliberation's AI participants may next be due to state positions (None when
        none is waiting): a start schedules their timers from it (`ai_due`) without replaying.
        `owed` names the posts these events owe Discord (the outbox), stored with them.
        """
        # Everything but the record is prepared here and written in one call on the connection's
        # thread: each await on aiosqlite is a round trip to that thread, and they were most of
        # the cost of an action.
        if record is not None and not markdown:
            raise ValueError("a sealed record is stored with its rendered Markdown")
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

        signer = self.signer
        terminal = next((e for e in events if e.kind in TERMINAL_KINDS), None)

        def write(conn: sqlite3.Connection) -> Head:
            # The guild-scoped update doubles as the check that the deliberation is this guild's:
            # no row changed means nothing here, and the transaction rolls back.
            updated = conn.execute(
                "UPDATE deliberations SET status = ?, round_kind = ?, deadline_at = ?, ai_due_at = ?, closed_at = ?"
                " WHERE id = ? AND guild_id = ?",
                (status, round_kind, _iso(deadline_at), _iso(ai_due_at), closed_at, deliberation_id, guild_id),
            )
            if updated.rowcount != 1:
                raise _not_found(deliberation_id)
            head = _write_chain(conn, signer, guild_id, stream, deliberation_id, prepared, expect_seq)
            if terminal is not None:
                # The ledger notes how the deliberation ended and at which head (the terminal
                # event is the last of its action), so a chain cut back past it is caught.
                _write_ledger(
                    conn,
                    signer,
                    guild_id,
                    "ledger.closed",
                    {"deliberation": deliberation_id, "kind": str(terminal.kind), "seq": head.seq, "head": head.hash},
                    terminal.at.isoformat(),
                )
            if rows:
                conn.executemany(
                    "INSERT INTO contributions (deliberation_id, id, guild_id, kind, author, author_kind, stance,"
                    " text, ai_meta, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (deliberation_id, id) DO UPDATE SET stance = excluded.stance,"
                    " text = excluded.text, updated_at = excluded.updated_at",
                    rows,
                )
            _owe(conn, guild_id, deliberation_id, owed, events[-1].at.isoformat())
            return head

        if record is None:
            return (await self._write(write)).hash
        async with self.transaction() as db:
            head = await _on_connection_thread(db, write)
            await self._insert_record(db, guild_id, deliberation_id, record, markdown, head)
        return head.hash

    async def _insert_record(
        self, db: aiosqlite.Connection, guild_id: int, deliberation_id: int, record: Record, markdown: str, head: Head
    ) -> None:
        await _run(
            db,
            "INSERT INTO decision_records (deliberation_id, guild_id, question, outcome, sealed_at, chain_head,"
            " digest, record_json, markdown, seal_seq, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                deliberation_id,
                guild_id,
                record.question,
                record.outcome.kind,
                record.closed_at,
                head.hash,
                record_digest(record),
                record_json(record.sealed(head.hash)),
                markdown,
                head.seq,
                head.key_id,
                head.signature,
            ),
        )
        await _run(
            db,
            "INSERT INTO decision_records_fts (rowid, question, markdown, guild_id) VALUES (?, ?, ?, ?)",
            (deliberation_id, record.question, markdown, guild_id),
        )

    async def _require_deliberation(self, db: aiosqlite.Connection, guild_id: int, deliberation_id: int) -> None:
        async with db.execute(
            "SELECT 1 FROM deliberations WHERE id = ? AND guild_id = ?", (deliberation_id, guild_id)
        ) as cur:
            if await cur.fetchone() is None:
                raise _not_found(deliberation_id)

    async def load_events(self, guild_id: int, deliberation_id: int) -> list[Event]:
        """A deliberation's events in order; another guild's id is as unknown as a missing one."""
        # Read whole in one hop to the connection's thread: a read statement left open across
        # awaits holds an old snapshot, and a write on this connection meanwhile would then be
        # refused ("database is locked") once another process has written the file.

        def read(conn: sqlite3.Connection) -> list[tuple[str, str, str, str, str]]:
            _check_deliberation(conn, guild_id, deliberation_id)
            return conn.execute(
                "SELECT kind, actor, actor_name, at, payload FROM events WHERE deliberation_id = ? AND guild_id = ?"
                " ORDER BY seq",
                (deliberation_id, guild_id),
            ).fetchall()

        return [event_from_row(*row) for row in await _on_connection_thread(self._conn, read)]

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

    # ------------------------------------------------------------------ the outbox

    async def pending_posts(self, guild_id: int, deliberation_id: int) -> list[PendingPost]:
        """What the deliberation still owes Discord, in the order it was owed."""
        async with self._conn.execute(
            "SELECT ref, attempts, retry_at FROM outbox WHERE guild_id = ? AND deliberation_id = ?"
            " AND delivered_at IS NULL AND given_up_at IS NULL ORDER BY id",
            (guild_id, deliberation_id),
        ) as cur:
            return [PendingPost(r[0], r[1], datetime.fromisoformat(r[2]) if r[2] else None) async for r in cur]

    async def owing(self, guild_ids: Iterable[int]) -> dict[int, list[int]]:
        """The deliberations of these guilds that still owe posts, by guild (for a start)."""
        found: dict[int, list[int]] = {}
        for chunk in _chunks(guild_ids):
            async with self._conn.execute(
                "SELECT DISTINCT guild_id, deliberation_id FROM outbox"
                f" WHERE guild_id IN ({', '.join('?' * len(chunk))})"
                " AND delivered_at IS NULL AND given_up_at IS NULL ORDER BY guild_id, deliberation_id",
                chunk,
            ) as cur:
                async for guild_id, deliberation_id in cur:
                    found.setdefault(guild_id, []).append(deliberation_id)
        return found

    async def post_delivered(
        self, guild_id: int, deliberation_id: int, ref: str, at: datetime, where: tuple[int, int] | None
    ) -> None:
        """The post is in Discord (`where`: its channel and message; None when nothing was due there)."""

        def write(conn: sqlite3.Connection) -> None:
            channel_id, message_id = where if where is not None else (None, None)
            conn.execute(
                "UPDATE outbox SET delivered_at = ?, channel_id = ?, message_id = ?"
                " WHERE guild_id = ? AND deliberation_id = ? AND ref = ?",
                (at.isoformat(), channel_id, message_id, guild_id, deliberation_id, ref),
            )
            if where is not None:
                conn.execute(
                    "INSERT INTO posts (guild_id, deliberation_id, ref, channel_id, message_id) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (deliberation_id, ref) DO UPDATE SET channel_id = excluded.channel_id,"
                    " message_id = excluded.message_id",
                    (guild_id, deliberation_id, ref, channel_id, message_id),
                )

        await self._write(write)

    async def post_failed(
        self,
        guild_id: int,
        deliberation_id: int,
        ref: str,
        error: str,
        *,
        retry_at: datetime | None,
        at: datetime,
    ) -> int:
        """A delivery failed: retried at `retry_at`, or given up for good when it is None. Returns attempts."""

        def write(conn: sqlite3.Connection) -> int:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, retry_at = ?, given_up_at = ?"
                " WHERE guild_id = ? AND deliberation_id = ? AND ref = ?",
                (
                    error[:500],
                    _iso(retry_at),
                    None if retry_at is not None else at.isoformat(),
                    guild_id,
                    deliberation_id,
                    ref,
                ),
            )
            row = conn.execute(
                "SELECT attempts FROM outbox WHERE guild_id = ? AND deliberation_id = ? AND ref = ?",
                (guild_id, deliberation_id, ref),
            ).fetchone()
            return int(row[0]) if row else 0

        return await self._write(write)

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
        configured = GuildConfigured(settings.moderator_role_id, settings.archive_channel_id, settings.ai_enabled)
        signer = self.signer
        guild_id = settings.guild_id
        row = event_row(Event(actor, at, configured))

        def write(conn: sqlite3.Connection) -> None:
            head = _write_chain(conn, signer, guild_id, f"g:{guild_id}", None, [row])
            _write_ledger(conn, signer, guild_id, "ledger.configured", {"seq": head.seq, "head": head.hash}, row[3])
            conn.execute(
                "INSERT INTO guild_settings (guild_id, moderator_role_id, archive_channel_id, ai_enabled, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " moderator_role_id = excluded.moderator_role_id, archive_channel_id = excluded.archive_channel_id,"
                " ai_enabled = excluded.ai_enabled, updated_at = excluded.updated_at",
                (guild_id, settings.moderator_role_id, settings.archive_channel_id, int(settings.ai_enabled), row[3]),
            )

        await self._write(write)

    # ------------------------------------------------------------------ records

    async def record(self, guild_id: int, deliberation_id: int) -> StoredRecord:
        async with self._conn.execute(
            f"SELECT {_RECORD_COLUMNS} FROM decision_records WHERE deliberation_id = ? AND guild_id = ?",
            (deliberation_id, guild_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise errors.NotFound(f"There is no sealed decision record #{deliberation_id} in this server.")
        return _stored_record(row)

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
        # Words only, each quoted: nothing a member types is read as query syntax (quotes, AND,
        # NEAR, *, column filters, NUL), and what the tokenizer would drop is dropped here.
        words = search_words(query)
        if not words:
            raise errors.EmptyText("Search for at least one word.")
        phrases = " ".join(f'"{w}"' for w in words)
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
            f"SELECT {_RECORD_COLUMNS} FROM decision_records WHERE guild_id = ? ORDER BY deliberation_id",
            (guild_id,),
        ) as cur:
            async for row in cur:
                yield _stored_record(row)

    async def record_proof(self, stored: StoredRecord) -> dict[str, Any] | None:
        """What checks a sealed record with no database: its chain's events up to the seal, and the key.

        `python -m bot verify FILE.zip` reads it back (bot/store/verify.py, `verify_proof`). None for
        an anonymous deliberation: its events name the members behind the aliases, and an export
        must not (its record is checked in the database, or against the anchor posted at its seal).
        """
        if stored.record.get("anonymous"):
            return None

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            events = [
                list(row)
                for row in conn.execute(
                    "SELECT seq, kind, actor, actor_name, at, payload, prev_hash, hash FROM events"
                    " WHERE stream = ? AND guild_id = ? AND seq <= ? ORDER BY seq",
                    (f"d:{stored.deliberation_id}", stored.guild_id, stored.seal_seq or 1 << 62),
                )
            ]
            key = None
            if stored.key_id is not None:
                query = "SELECT public_key FROM signing_keys WHERE key_id = ?"
                found = conn.execute(query, (stored.key_id,)).fetchone()
                key = found[0] if found else None
            return {
                "format": 1,
                "guild_id": stored.guild_id,
                "deliberation_id": stored.deliberation_id,
                "stream": f"d:{stored.deliberation_id}",
                "events": events,
                "head": {"seq": stored.seal_seq, "hash": stored.chain_head},
                "signature": stored.signature,
                "key_id": stored.key_id,
                "public_key": key,
            }

        return await _on_connection_thread(self._conn, read)

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

    async def verify(self, *, public_key: bytes | None = None, anchors: str = "") -> list[str]:
        """Prove the whole database (bot/store/verify.py). Returns problems; empty means intact."""
        from bot.store.verify import verify_database

        report = await _on_connection_thread(self._conn, verify_database, public_key, anchors)
        return report.problems


async def _on_connection_thread(db: aiosqlite.Connection, fn: Callable[..., _T], *args: Any) -> _T:
    """Run `fn(sqlite3 connection, *args)` on the aiosqlite connection's own thread: one round trip.

    aiosqlite has no public call for this; `_execute` and `_conn` are what its own methods use,
    which is why pyproject.toml pins aiosqlite exactly.
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


def _write_chain(
    conn: sqlite3.Connection,
    signer: Signer | None,
    guild_id: int,
    stream: str,
    deliberation_id: int | None,
    rows: Sequence[tuple[str, str, str, str, str]],
    expect_seq: int | None = None,
) -> Head:
    """Append `rows` to the stream, then record (and sign) its new head."""
    seq, digest = _write_events(conn, guild_id, stream, deliberation_id, rows, expect_seq)
    key_id = signature = None
    if signer is not None:
        key_id, signature = signer.key_id, signer.sign(head_message(guild_id, stream, seq, digest))
    conn.execute(
        "INSERT INTO stream_heads (stream, guild_id, seq, hash, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (stream) DO UPDATE SET guild_id = excluded.guild_id, seq = excluded.seq,"
        " hash = excluded.hash, key_id = excluded.key_id, signature = excluded.signature",
        (stream, guild_id, seq, digest, key_id, signature),
    )
    return Head(stream, seq, digest, key_id, signature)


def _write_ledger(
    conn: sqlite3.Connection, signer: Signer | None, guild_id: int, kind: str, payload: dict[str, Any], at: str
) -> Head:
    """One entry in the guild's ledger chain 'l:<guild>' (see migration 0004)."""
    row = (kind, LEDGER_ACTOR[0], LEDGER_ACTOR[1], at, canonical(payload))
    return _write_chain(conn, signer, guild_id, f"l:{guild_id}", None, [row])


def _backfill_ledgers(conn: sqlite3.Connection) -> None:
    """Migration 0004's second half: the heads and ledgers of a database written before it.

    Taken from the events as they stand (the upgrade trusts the file it upgrades, as the bot
    does every time it starts); in the order the events were written, so the ledger reads as
    if it had been kept all along.
    """
    conn.execute(
        "INSERT INTO stream_heads (stream, guild_id, seq, hash)"
        " SELECT e.stream, e.guild_id, e.seq, e.hash FROM events e"
        " WHERE e.seq = (SELECT max(seq) FROM events WHERE stream = e.stream)"
    )
    found = conn.execute(
        "SELECT guild_id, stream, seq, kind, hash, at FROM events"
        " WHERE (stream LIKE 'd:%' AND (seq = 1 OR kind IN (?, ?))) OR stream LIKE 'g:%' ORDER BY id",
        tuple(TERMINAL_KINDS),
    ).fetchall()
    for guild_id, stream, seq, kind, digest, at in found:
        if stream.startswith("g:"):
            _write_ledger(conn, None, guild_id, "ledger.configured", {"seq": seq, "head": digest}, at)
            continue
        deliberation_id = int(stream[2:])
        if seq == 1:
            payload: dict[str, Any] = {"deliberation": deliberation_id, "seq": 1, "head": digest}
            _write_ledger(conn, None, guild_id, "ledger.opened", payload, at)
        if kind in TERMINAL_KINDS:
            payload = {"deliberation": deliberation_id, "kind": kind, "seq": seq, "head": digest}
            _write_ledger(conn, None, guild_id, "ledger.closed", payload, at)


# Python steps that run right after a migration's SQL, in its transaction.
_MIGRATION_STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {4: _backfill_ledgers}


def _register_key(conn: sqlite3.Connection, signer: Signer) -> None:
    """Note the bot's public key; the first key a database sees also signs the heads written before it.

    That adoption happens once (the database had no key yet): from then on a head without a
    signature is one the bot did not write.
    """
    first = conn.execute("SELECT 1 FROM signing_keys LIMIT 1").fetchone() is None
    conn.execute(
        "INSERT OR IGNORE INTO signing_keys (key_id, public_key, added_at) VALUES (?, ?, datetime('now'))",
        (signer.key_id, encode_public_key(signer.public_key)),
    )
    if not first:
        return
    unsigned = conn.execute("SELECT stream, guild_id, seq, hash FROM stream_heads WHERE signature IS NULL").fetchall()
    conn.executemany(
        "UPDATE stream_heads SET key_id = ?, signature = ? WHERE stream = ?",
        [(signer.key_id, signer.sign(head_message(g, st, seq, h)), st) for st, g, seq, h in unsigned],
    )


def _write_events(
    conn: sqlite3.Connection,
    guild_id: int,
    stream: str,
    deliberation_id: int | None,
    rows: Sequence[tuple[str, str, str, str, str]],
    expect_seq: int | None = None,
) -> tuple[int, str]:
    """Chain `rows` (as `event_row` gives them) onto the stream's head and insert them; returns the new head.

    BEGIN IMMEDIATE makes the head read here the one this transaction extends, across processes;
    a head other than `expect_seq` means another writer appended first, and nothing is written.
    """
    head = conn.execute("SELECT seq, hash FROM events WHERE stream = ? ORDER BY seq DESC LIMIT 1", (stream,)).fetchone()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    if expect_seq is not None and seq != expect_seq:
        log.info("append to %s refused: it extends seq %s, the chain is at %s", stream, expect_seq, seq)
        raise errors.ChangedMeanwhile(
            "This deliberation changed at the same moment somewhere else; nothing was recorded. Please try again."
        )
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
    return seq, prev


def _owe(conn: sqlite3.Connection, guild_id: int, deliberation_id: int, refs: Sequence[str], at: str) -> None:
    """Add the posts a change owes to the outbox; one already owed stays as it is."""
    if refs:
        conn.executemany(
            "INSERT INTO outbox (guild_id, deliberation_id, ref, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (deliberation_id, ref) DO NOTHING",
            [(guild_id, deliberation_id, ref, at) for ref in refs],
        )


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


_RECORD_COLUMNS = "deliberation_id, guild_id, record_json, markdown, chain_head, seal_seq, key_id, signature"


def _stored_record(row: Sequence[Any]) -> StoredRecord:
    return StoredRecord(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], row[6], row[7])


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


# Every public method: a file that cannot be read or written raises StorageUnavailable.
guard(Store, sqlite_fault)

__all__ = [
    "DeliberationRow",
    "GuildSettings",
    "Head",
    "OpenHere",
    "PendingPost",
    "RecordSummary",
    "Store",
    "StoredRecord",
    "canonical",
    "migrations",
]
