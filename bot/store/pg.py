"""PostgreSQL storage through asyncpg: the same public API, rows and hash chains as the SQLite `Store`.

Chosen by `database.url = "postgresql://..."` (see bot/store/backend.py). Everything the SQLite
store promises holds here too: an action's events and the rows queries read are one transaction;
events are append-only (triggers, migration 0001); every chain head is signed; every query is
scoped by guild; the rows are the same text as SQLite's, so a chain hashes byte for byte alike and
`python -m bot db copy` moves an archive either way.

Several processes may share one database. Two appends to one chain are serialised by a
transaction-scoped advisory lock on the stream, and an append that states the head it extends
(`expect_seq`) is refused with `ChangedMeanwhile` if another writer moved it; UNIQUE (stream, seq)
backs both, so a chain never forks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg

from bot.engine import errors
from bot.engine.events import Event, GuildConfigured
from bot.engine.model import Actor, Contribution
from bot.engine.record import Record, record_digest, record_json
from bot.store.chain import GENESIS, canonical, event_from_row, event_hash, event_row
from bot.store.faults import Outage, guard
from bot.store.schema import pg_migrations
from bot.store.signing import Signer, encode_public_key, head_message
from bot.store.store import (
    _RECORD_COLUMNS,
    LEDGER_ACTOR,
    TERMINAL_KINDS,
    DeliberationRow,
    GuildSettings,
    Head,
    OpenHere,
    PendingPost,
    RecordSummary,
    StoredRecord,
    _iso,
    _not_found,
    _stored_record,
    search_words,
)
from bot.store.url import pg_connect_kwargs

log = logging.getLogger(__name__)

# One constant key for the migration lock: two processes starting at once migrate one at a time.
_MIGRATION_LOCK = 0x526F756E64  # "Round"
# Bounds of one append: the wait for a chain's lock, the whole statement, and (if this process
# stalls mid-transaction) how long its open transaction may hold the lock before the server ends it.
_WRITE_LIMITS = (
    "SET LOCAL lock_timeout = '2s'; SET LOCAL statement_timeout = '30s';"
    " SET LOCAL idle_in_transaction_session_timeout = '30s'"
)


class PgStore:
    """One PostgreSQL database. Open with `await PgStore.open(url)`; close with `await store.close()`."""

    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, signer: Signer | None = None) -> None:
        self._pool = pool
        self.url = url
        # No file: tools that take a path (the archive's server) take the URL instead.
        self.path = Path(url)
        self.signer = signer
        # Notes when the server stops answering, and when it is back (bot/store/faults.py).
        self.outage = Outage("PostgreSQL")

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, signer: Signer | None = None, max_connections: int = 10
    ) -> PgStore:
        # No floor of connections (min_size 0): the pool opens them on demand, also after an
        # outage, and asyncpg's floor keeper, which logs a traceback for every failed reconnect
        # while the server is down, never runs.
        pool = await asyncpg.create_pool(
            **pg_connect_kwargs(url),
            min_size=0,
            max_size=max_connections,
            reset=_keep_session,
            # Every query is scoped by guild, and guilds differ in size by orders of magnitude: a
            # generic plan cached for a busy guild's searches made a small guild's read all its
            # matches in every guild (docs/benchmarks.md, "Decision records at scale").
            server_settings={"plan_cache_mode": "force_custom_plan"},
        )
        store = cls(pool, url, signer)
        try:
            # With no floor the pool has connected to nothing yet: reach the server now, so that one
            # that cannot be reached fails at start, with its own error (bot/cli.py says it in one line).
            async with pool.acquire():
                pass
            if migrate:
                await store.migrate()
            if signer is not None and await store.schema_version() >= 4:
                async with store._tx() as conn:
                    await _register_key(conn, signer)
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._pool.acquire() as conn:
            committing = False
            try:
                async with conn.transaction():
                    yield conn
                    committing = True
            except Exception as exc:
                # Lost before COMMIT was sent, the server rolls the transaction back: nothing is
                # stored. Lost while COMMIT was on its way, it may have committed: say so.
                if committing and isinstance(pg_fault(exc), errors.StorageUnavailable):
                    raise errors.StorageUnavailable(uncertain=True) from exc
                raise

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction that appends to a chain: it waits at most `LOCK_TIMEOUT` for the chain's
        lock (a writer stalled while holding it must not block the deliberation forever) and is
        refused with `DatabaseBusy` ("try again") rather than waiting on."""
        try:
            async with self._tx() as conn:
                await conn.execute(_WRITE_LIMITS)
                yield conn
        except (asyncpg.LockNotAvailableError, asyncpg.QueryCanceledError) as exc:
            log.warning("append refused: %s", exc)
            raise errors.DatabaseBusy(
                "The database is busy with this deliberation right now; nothing was recorded. Please try again."
            ) from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """All or nothing: an exception inside rolls everything back."""
        async with self._tx() as conn:
            yield conn

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            return await _version(conn)

    async def migrate(self) -> tuple[int, int]:
        """Apply every migration newer than `schema_version`, each in its own transaction."""
        async with self._pool.acquire() as conn:
            start = await _version(conn)
            current = start
            for number, name, sql in pg_migrations():
                if number <= current:
                    continue
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                    if await _version(conn) >= number:  # another process applied it meanwhile
                        current = await _version(conn)
                        continue
                    log.info("applying migration %s (PostgreSQL)", name)
                    await conn.execute(sql)
                    await conn.execute("DELETE FROM schema_version")
                    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
                current = number
        return start, current

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
        rows = [event_row(event) for event in events]
        async with self._write() as conn:
            deliberation_id = await conn.fetchval(
                "INSERT INTO deliberations (guild_id, channel_id, question, template, status, round_kind,"
                " deadline_at, ai_due_at, created_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8) RETURNING id",
                guild_id,
                channel_id,
                question,
                template,
                round_kind,
                _iso(deadline_at),
                _iso(ai_due_at),
                events[0].at.isoformat(),
            )
            stream = f"d:{deliberation_id}"
            await _write_chain(conn, self.signer, guild_id, stream, deliberation_id, rows)
            first = await conn.fetchval("SELECT hash FROM events WHERE stream = $1 AND seq = 1", stream)
            opened = {"deliberation": deliberation_id, "seq": 1, "head": first}
            await _write_ledger(conn, self.signer, guild_id, "ledger.opened", opened, rows[0][3])
            await _owe(conn, guild_id, deliberation_id, owed, rows[0][3])
        return int(deliberation_id)

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

        `expect_seq`: the seq of the head these events extend; another writer's append since then
        refuses this one with `ChangedMeanwhile` (nothing is written).
        """
        if record is not None and not markdown:
            raise ValueError("a sealed record is stored with its rendered Markdown")
        stream = f"d:{deliberation_id}"
        prepared = [event_row(event) for event in events]
        closed_at = events[-1].at.isoformat() if status != "open" else None
        rows = [_contribution_row(guild_id, deliberation_id, c) for c in contributions]
        terminal = next((e for e in events if e.kind in TERMINAL_KINDS), None)
        async with self._write() as conn:
            # The chain's lock is taken in the same round trip as the guild-scoped update (which
            # doubles as the check that the deliberation is this guild's): one statement less.
            updated = await conn.execute(
                "WITH chain AS (SELECT pg_advisory_xact_lock(hashtextextended($8, 0)))"
                " UPDATE deliberations SET status = $1, round_kind = $2, deadline_at = $3, ai_due_at = $4,"
                " closed_at = $5 WHERE id = $6 AND guild_id = $7 AND EXISTS (SELECT 1 FROM chain)",
                status,
                round_kind,
                _iso(deadline_at),
                _iso(ai_due_at),
                closed_at,
                deliberation_id,
                guild_id,
                stream,
            )
            if updated != "UPDATE 1":
                raise _not_found(deliberation_id)
            head = await _write_chain(
                conn, self.signer, guild_id, stream, deliberation_id, prepared, expect_seq, locked=True
            )
            if terminal is not None:
                closed = {
                    "deliberation": deliberation_id,
                    "kind": str(terminal.kind),
                    "seq": head.seq,
                    "head": head.hash,
                }
                await _write_ledger(conn, self.signer, guild_id, "ledger.closed", closed, terminal.at.isoformat())
            if rows:
                await conn.executemany(
                    "INSERT INTO contributions (deliberation_id, id, guild_id, kind, author, author_kind, stance,"
                    " text, ai_meta, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    " ON CONFLICT (deliberation_id, id) DO UPDATE SET stance = excluded.stance,"
                    " text = excluded.text, updated_at = excluded.updated_at",
                    rows,
                )
            await _owe(conn, guild_id, deliberation_id, owed, events[-1].at.isoformat())
            if record is not None:
                await conn.execute(
                    "INSERT INTO decision_records (deliberation_id, guild_id, question, outcome, sealed_at, chain_head,"
                    " digest, record_json, markdown, seal_seq, key_id, signature)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
                )
        return head.hash

    async def load_events(self, guild_id: int, deliberation_id: int) -> list[Event]:
        """A deliberation's events in order; another guild's id is as unknown as a missing one."""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            await _require_deliberation(conn, guild_id, deliberation_id)
            rows = await conn.fetch(
                "SELECT kind, actor, actor_name, at, payload FROM events WHERE deliberation_id = $1 AND guild_id = $2"
                " ORDER BY seq",
                deliberation_id,
                guild_id,
            )
        return [event_from_row(*row) for row in rows]

    # ------------------------------------------------------------------ deliberations

    async def deliberation(self, guild_id: int, deliberation_id: int) -> DeliberationRow:
        row = await self._pool.fetchrow(
            f"SELECT {_DELIBERATION_COLUMNS} FROM deliberations WHERE id = $1 AND guild_id = $2",
            deliberation_id,
            guild_id,
        )
        if row is None:
            raise _not_found(deliberation_id)
        return _deliberation_row(row)

    async def deliberations(
        self, guild_id: int, *, status: str | None = "open", limit: int = 100
    ) -> list[DeliberationRow]:
        if status is None:
            rows = await self._pool.fetch(
                f"SELECT {_DELIBERATION_COLUMNS} FROM deliberations WHERE guild_id = $1 ORDER BY id DESC LIMIT $2",
                guild_id,
                limit,
            )
        else:
            rows = await self._pool.fetch(
                f"SELECT {_DELIBERATION_COLUMNS} FROM deliberations WHERE guild_id = $1 AND status = $2"
                " ORDER BY id DESC LIMIT $3",
                guild_id,
                status,
                limit,
            )
        return [_deliberation_row(row) for row in rows]

    async def open_deadlines(self, guild_ids: Iterable[int]) -> dict[int, list[tuple[int, datetime]]]:
        return await self._open_times(guild_ids, "deadline_at")

    async def ai_due_times(self, guild_ids: Iterable[int]) -> dict[int, list[tuple[int, datetime]]]:
        return await self._open_times(guild_ids, "ai_due_at")

    async def _open_times(
        self, guild_ids: Iterable[int], column: Literal["deadline_at", "ai_due_at"]
    ) -> dict[int, list[tuple[int, datetime]]]:
        found: dict[int, list[tuple[int, datetime]]] = {}
        rows = await self._pool.fetch(
            f"SELECT guild_id, id, {column} FROM deliberations WHERE guild_id = ANY($1::bigint[])"
            f" AND status = 'open' AND {column} IS NOT NULL ORDER BY guild_id, id DESC",
            list(dict.fromkeys(guild_ids)),
        )
        for guild_id, deliberation_id, when in rows:
            found.setdefault(guild_id, []).append((deliberation_id, datetime.fromisoformat(when)))
        return found

    async def open_deliberation_at(self, guild_id: int, channel_id: int | None) -> OpenHere | None:
        if channel_id is None:
            return None
        async with self._pool.acquire() as conn:
            found = await conn.fetchval(
                "SELECT id FROM deliberations WHERE guild_id = $1 AND thread_id = $2 AND status = 'open'"
                " ORDER BY id DESC LIMIT 1",
                guild_id,
                channel_id,
            )
            if found is not None:
                return OpenHere(found, in_thread=True)
            found = await conn.fetchval(
                "SELECT id FROM deliberations WHERE guild_id = $1 AND channel_id = $2 AND status = 'open'"
                " AND thread_id IS NULL ORDER BY id DESC LIMIT 1",
                guild_id,
                channel_id,
            )
        return OpenHere(found, in_thread=False) if found is not None else None

    async def set_location(
        self, guild_id: int, deliberation_id: int, *, channel_id: int | None, thread_id: int | None
    ) -> None:
        async with self._tx() as conn:
            await _require_deliberation(conn, guild_id, deliberation_id)
            await conn.execute(
                "UPDATE deliberations SET channel_id = $1, thread_id = $2 WHERE id = $3 AND guild_id = $4",
                channel_id,
                thread_id,
                deliberation_id,
                guild_id,
            )

    async def save_post(self, guild_id: int, deliberation_id: int, ref: str, channel_id: int, message_id: int) -> None:
        async with self._tx() as conn:
            await _require_deliberation(conn, guild_id, deliberation_id)
            await _save_post(conn, guild_id, deliberation_id, ref, channel_id, message_id)

    async def post(self, guild_id: int, deliberation_id: int, ref: str) -> tuple[int, int] | None:
        row = await self._pool.fetchrow(
            "SELECT channel_id, message_id FROM posts WHERE guild_id = $1 AND deliberation_id = $2 AND ref = $3",
            guild_id,
            deliberation_id,
            ref,
        )
        return (row[0], row[1]) if row else None

    # ------------------------------------------------------------------ the outbox

    async def pending_posts(self, guild_id: int, deliberation_id: int) -> list[PendingPost]:
        rows = await self._pool.fetch(
            "SELECT ref, attempts, retry_at FROM outbox WHERE guild_id = $1 AND deliberation_id = $2"
            " AND delivered_at IS NULL AND given_up_at IS NULL ORDER BY id",
            guild_id,
            deliberation_id,
        )
        return [PendingPost(r[0], r[1], datetime.fromisoformat(r[2]) if r[2] else None) for r in rows]

    async def owing(self, guild_ids: Iterable[int]) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        rows = await self._pool.fetch(
            "SELECT DISTINCT guild_id, deliberation_id FROM outbox WHERE guild_id = ANY($1::bigint[])"
            " AND delivered_at IS NULL AND given_up_at IS NULL ORDER BY guild_id, deliberation_id",
            list(dict.fromkeys(guild_ids)),
        )
        for guild_id, deliberation_id in rows:
            found.setdefault(guild_id, []).append(deliberation_id)
        return found

    async def post_delivered(
        self, guild_id: int, deliberation_id: int, ref: str, at: datetime, where: tuple[int, int] | None
    ) -> None:
        channel_id, message_id = where if where is not None else (None, None)
        async with self._tx() as conn:
            await conn.execute(
                "UPDATE outbox SET delivered_at = $1, channel_id = $2, message_id = $3"
                " WHERE guild_id = $4 AND deliberation_id = $5 AND ref = $6",
                at.isoformat(),
                channel_id,
                message_id,
                guild_id,
                deliberation_id,
                ref,
            )
            if where is not None:
                await _save_post(conn, guild_id, deliberation_id, ref, where[0], where[1])

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
        attempts = await self._pool.fetchval(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, retry_at = $2, given_up_at = $3"
            " WHERE guild_id = $4 AND deliberation_id = $5 AND ref = $6 RETURNING attempts",
            error[:500],
            _iso(retry_at),
            None if retry_at is not None else at.isoformat(),
            guild_id,
            deliberation_id,
            ref,
        )
        return int(attempts) if attempts is not None else 0

    # ------------------------------------------------------------------ guild settings

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        row = await self._pool.fetchrow(
            "SELECT moderator_role_id, archive_channel_id, ai_enabled FROM guild_settings WHERE guild_id = $1",
            guild_id,
        )
        if row is None:
            return GuildSettings(guild_id)
        return GuildSettings(guild_id, row[0], row[1], bool(row[2]))

    async def save_guild_settings(self, settings: GuildSettings, actor: Actor, at: datetime) -> None:
        configured = GuildConfigured(settings.moderator_role_id, settings.archive_channel_id, settings.ai_enabled)
        guild_id = settings.guild_id
        row = event_row(Event(actor, at, configured))
        async with self._tx() as conn:
            head = await _write_chain(conn, self.signer, guild_id, f"g:{guild_id}", None, [row])
            ledger = {"seq": head.seq, "head": head.hash}
            await _write_ledger(conn, self.signer, guild_id, "ledger.configured", ledger, row[3])
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, moderator_role_id, archive_channel_id, ai_enabled, updated_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guild_id) DO UPDATE SET"
                " moderator_role_id = excluded.moderator_role_id, archive_channel_id = excluded.archive_channel_id,"
                " ai_enabled = excluded.ai_enabled, updated_at = excluded.updated_at",
                guild_id,
                settings.moderator_role_id,
                settings.archive_channel_id,
                int(settings.ai_enabled),
                row[3],
            )

    # ------------------------------------------------------------------ records

    async def record(self, guild_id: int, deliberation_id: int) -> StoredRecord:
        row = await self._pool.fetchrow(
            f"SELECT {_RECORD_COLUMNS} FROM decision_records WHERE deliberation_id = $1 AND guild_id = $2",
            deliberation_id,
            guild_id,
        )
        if row is None:
            raise errors.NotFound(f"There is no sealed decision record #{deliberation_id} in this server.")
        return _stored_record(row)

    async def list_records(self, guild_id: int, *, limit: int = 20, before: int | None = None) -> list[RecordSummary]:
        sql = "SELECT deliberation_id, question, outcome, sealed_at FROM decision_records WHERE guild_id = $1"
        params: list[Any] = [guild_id]
        if before is not None:
            sql += (
                " AND (sealed_at, deliberation_id) < (SELECT sealed_at, deliberation_id FROM decision_records"
                " WHERE deliberation_id = $2 AND guild_id = $1)"
            )
            params.append(before)
        sql += f" ORDER BY sealed_at DESC, deliberation_id DESC LIMIT ${len(params) + 1}"
        params.append(limit)
        rows = await self._pool.fetch(sql, *params)
        return [RecordSummary(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows]

    async def search_records(self, guild_id: int, query: str, *, limit: int = 20) -> list[RecordSummary]:
        """Full-text search over questions and records; every word must appear. Newest first.

        PostgreSQL's own text search (migration 0002): the words are taken as SQLite's store
        takes them (letters and digits only) and given to `plainto_tsquery`, which reads no query
        syntax at all, so nothing a member types is an operator, and nothing raises.
        """
        words = search_words(query)
        if not words:
            raise errors.EmptyText("Search for at least one word.")
        text = " ".join(words)
        # Common words: the guild's newest records hold the page (checking a record reads its
        # text-search vector, so only a bounded window of them is read). Otherwise the full-text
        # index finds every match in the guild, however old. The planner could not be left to
        # choose: it does not count reading the vectors and walked every record for a rare word.
        rows = await self._pool.fetch(SEARCH_RECENT_SQL, guild_id, text, limit, SEARCH_RECENT_WINDOW)
        if limit > len(rows) >= limit / 4:
            # Common enough that the page is a little further back: a ten times longer walk.
            rows = await self._pool.fetch(SEARCH_RECENT_SQL, guild_id, text, limit, 10 * SEARCH_RECENT_WINDOW)
        if len(rows) < limit:
            async with self._pool.acquire() as conn, conn.transaction(readonly=True):
                await conn.execute(SEARCH_INDEX_ONLY)
                rows = await conn.fetch(SEARCH_INDEXED_SQL, guild_id, text, limit)
        return [RecordSummary(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows]

    async def all_records(self, guild_id: int) -> AsyncIterator[StoredRecord]:
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            cursor = conn.cursor(
                f"SELECT {_RECORD_COLUMNS} FROM decision_records WHERE guild_id = $1 ORDER BY deliberation_id",
                guild_id,
            )
            async for row in cursor:
                yield _stored_record(row)

    async def record_proof(self, stored: StoredRecord) -> dict[str, Any] | None:
        """As the SQLite store's: the chain's events up to the seal, and the key (None if anonymous)."""
        if stored.record.get("anonymous"):
            return None
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT seq, kind, actor, actor_name, at, payload, prev_hash, hash FROM events"
                " WHERE stream = $1 AND guild_id = $2 AND seq <= $3 ORDER BY seq",
                f"d:{stored.deliberation_id}",
                stored.guild_id,
                stored.seal_seq or 1 << 62,
            )
            key = None
            if stored.key_id is not None:
                key = await conn.fetchval("SELECT public_key FROM signing_keys WHERE key_id = $1", stored.key_id)
        return {
            "format": 1,
            "guild_id": stored.guild_id,
            "deliberation_id": stored.deliberation_id,
            "stream": f"d:{stored.deliberation_id}",
            "events": [list(row) for row in rows],
            "head": {"seq": stored.seal_seq, "hash": stored.chain_head},
            "signature": stored.signature,
            "key_id": stored.key_id,
            "public_key": key,
        }

    # ------------------------------------------------------------------ verification

    async def counts(self) -> dict[str, int]:
        result = {}
        for table in ("events", "deliberations", "decision_records"):
            count = await self._pool.fetchval(f"SELECT count(*) FROM {table}")
            result["records" if table == "decision_records" else table] = int(count)
        return result

    async def guild_ids(self) -> list[int]:
        rows = await self._pool.fetch(
            "SELECT guild_id FROM deliberations UNION SELECT guild_id FROM guild_settings ORDER BY guild_id"
        )
        return [int(row[0]) for row in rows]

    async def verify(self, *, public_key: bytes | None = None, anchors: str = "") -> list[str]:
        """Prove the whole database (bot/store/pg_verify.py). Returns problems; empty means intact."""
        from bot.store.pg_verify import verify_postgres

        return (await verify_postgres(self._pool, public_key, anchors)).problems


# ---------------------------------------------------------------------- faults

# Connection-level failures: the server is down, restarting, shutting down or out of resources
# (disk, memory, connection slots), the connection dropped, or it is a read-only standby after a
# failover. (QueryCanceledError, also an "operator intervention", is a timeout: DatabaseBusy.)
_UNAVAILABLE = (
    OSError,  # refused, reset, no socket file, connect timeout (TimeoutError)
    asyncpg.PostgresConnectionError,  # 08xxx, ConnectionDoesNotExistError among them
    asyncpg.CannotConnectNowError,  # 57P03: starting up, in recovery after a crash
    asyncpg.AdminShutdownError,  # 57P01: pg_ctl stop -m fast
    asyncpg.CrashShutdownError,  # 57P02: another backend crashed, the server restarts
    asyncpg.InsufficientResourcesError,  # 53xxx: disk full, out of memory, too many connections
    asyncpg.ReadOnlySQLTransactionError,  # 25006: a standby
)


def pg_fault(exc: BaseException) -> errors.RoundtableError | None:
    """StorageUnavailable for asyncpg's (and the socket's) ways of saying the server is not there."""
    if isinstance(exc, _UNAVAILABLE):
        return errors.StorageUnavailable()
    # Raised for a pooled connection the server closed (not for asyncpg's misuse errors).
    if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
        return errors.StorageUnavailable()
    return None


# Every public method: a server that cannot be reached raises StorageUnavailable.
guard(PgStore, pg_fault)


# ---------------------------------------------------------------------- search

# A record search, newest first, in two steps (`PgStore.search_records`). First the guild's
# newest records, at most a window of them, each checked against the words.
SEARCH_RECENT_WINDOW = 100
SEARCH_RECENT_SQL = (
    "SELECT deliberation_id, question, outcome, sealed_at FROM (SELECT deliberation_id, question, outcome,"
    " sealed_at, search FROM decision_records WHERE guild_id = $1 ORDER BY deliberation_id DESC LIMIT $4) recent"
    " WHERE search @@ plainto_tsquery('simple', roundtable_search_text($2)) ORDER BY deliberation_id DESC LIMIT $3"
)
# Then, if they hold fewer than a page (and a quarter of a page or more, a ten times longer window
# first), the full-text index: the plan may only read indexes into a bitmap (its cost follows the
# words' matches in the guild, about 3 µs each), never walk the records checking each one.
SEARCH_INDEX_ONLY = "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"
SEARCH_INDEXED_SQL = (
    "SELECT deliberation_id, question, outcome, sealed_at FROM decision_records"
    " WHERE guild_id = $1 AND search @@ plainto_tsquery('simple', roundtable_search_text($2))"
    " ORDER BY deliberation_id DESC LIMIT $3"
)


# ---------------------------------------------------------------------- helpers


async def _keep_session(conn: asyncpg.Connection) -> None:
    """No reset query when a connection goes back to the pool: one round trip less per call.

    Nothing here outlives a transaction (advisory locks and `SET LOCAL` are transaction-scoped;
    no LISTEN, no session settings, cursors only inside transactions), so there is nothing to reset.
    """


async def _version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    value = await conn.fetchval("SELECT max(version) FROM schema_version")
    return int(value or 0)


async def _require_deliberation(conn: asyncpg.Connection, guild_id: int, deliberation_id: int) -> None:
    found = await conn.fetchval(
        "SELECT 1 FROM deliberations WHERE id = $1 AND guild_id = $2", deliberation_id, guild_id
    )
    if found is None:
        raise _not_found(deliberation_id)


async def _write_chain(
    conn: asyncpg.Connection,
    signer: Signer | None,
    guild_id: int,
    stream: str,
    deliberation_id: int | None,
    rows: Sequence[tuple[str, str, str, str, str]],
    expect_seq: int | None = None,
    *,
    locked: bool = False,
) -> Head:
    """Append `rows` to the stream at its current head (or refuse if it is not `expect_seq`), then
    record and sign the new head. Writers of one stream wait for each other here: the advisory
    lock lasts until their transaction ends, so each reads the head the last one committed
    (`locked`: the caller took it already, in an earlier statement of this transaction)."""
    if not locked:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", stream)
    head = await conn.fetchrow("SELECT seq, hash FROM events WHERE stream = $1 ORDER BY seq DESC LIMIT 1", stream)
    seq, prev = (int(head[0]), head[1]) if head else (0, GENESIS)
    if expect_seq is not None and seq != expect_seq:
        raise _changed_meanwhile(stream, expect_seq, seq)
    values = []
    for kind, actor, actor_name, at, payload in rows:
        seq += 1
        digest = event_hash(prev, stream, seq, kind, actor, actor_name, at, payload)
        values.append((guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload, prev, digest))
        prev = digest
    try:
        await conn.executemany(
            "INSERT INTO events (guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload,"
            " prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            values,
        )
    except asyncpg.UniqueViolationError:
        # Only a writer that bypassed the lock (an older release) gets here: still no fork.
        raise _changed_meanwhile(stream, expect_seq, seq) from None
    # The rows must be there as hashed: a rule (DO INSTEAD NOTHING) or a trigger on the server
    # could make the INSERT write nothing, or something else, and the action would be acknowledged
    # while lost. One indexed read checks the count and the new head.
    first = values[0][3] if values else seq + 1
    written = await conn.fetchrow(
        "SELECT count(*), max(hash) FILTER (WHERE seq = $3) FROM events WHERE stream = $1 AND seq >= $2",
        stream,
        first,
        seq,
    )
    if written[0] != len(values) or (values and written[1] != prev):
        log.error("append to %s: the server stored %s of %s events as given; refused", stream, written[0], len(values))
        raise errors.DatabaseBusy(
            "The database did not store this action as given; nothing was recorded. "
            "An operator should run `python -m bot verify`."
        )
    key_id = signature = None
    if signer is not None:
        key_id, signature = signer.key_id, signer.sign(head_message(guild_id, stream, seq, prev))
    await conn.execute(
        "INSERT INTO stream_heads (stream, guild_id, seq, hash, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (stream) DO UPDATE SET guild_id = excluded.guild_id, seq = excluded.seq,"
        " hash = excluded.hash, key_id = excluded.key_id, signature = excluded.signature",
        stream,
        guild_id,
        seq,
        prev,
        key_id,
        signature,
    )
    return Head(stream, seq, prev, key_id, signature)


def _changed_meanwhile(stream: str, expected: int | None, found: int) -> errors.ChangedMeanwhile:
    log.info("append to %s refused: it extends seq %s, the chain is at %s", stream, expected, found)
    return errors.ChangedMeanwhile(
        "This deliberation changed at the same moment somewhere else; nothing was recorded. Please try again."
    )


async def _write_ledger(
    conn: asyncpg.Connection, signer: Signer | None, guild_id: int, kind: str, payload: dict[str, Any], at: str
) -> Head:
    row = (kind, LEDGER_ACTOR[0], LEDGER_ACTOR[1], at, canonical(payload))
    return await _write_chain(conn, signer, guild_id, f"l:{guild_id}", None, [row])


async def _register_key(conn: asyncpg.Connection, signer: Signer) -> None:
    """As the SQLite store's: the first key a database sees also signs the heads written before it."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
    first = await conn.fetchval("SELECT 1 FROM signing_keys LIMIT 1") is None
    await conn.execute(
        "INSERT INTO signing_keys (key_id, public_key, added_at) VALUES ($1, $2,"
        " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')) ON CONFLICT (key_id) DO NOTHING",
        signer.key_id,
        encode_public_key(signer.public_key),
    )
    if not first:
        return
    unsigned = await conn.fetch("SELECT stream, guild_id, seq, hash FROM stream_heads WHERE signature IS NULL")
    await conn.executemany(
        "UPDATE stream_heads SET key_id = $1, signature = $2 WHERE stream = $3",
        [(signer.key_id, signer.sign(head_message(g, st, seq, h)), st) for st, g, seq, h in unsigned],
    )


async def _owe(conn: asyncpg.Connection, guild_id: int, deliberation_id: int, refs: Sequence[str], at: str) -> None:
    if refs:
        await conn.executemany(
            "INSERT INTO outbox (guild_id, deliberation_id, ref, created_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (deliberation_id, ref) DO NOTHING",
            [(guild_id, deliberation_id, ref, at) for ref in refs],
        )


async def _save_post(
    conn: asyncpg.Connection, guild_id: int, deliberation_id: int, ref: str, channel_id: int, message_id: int
) -> None:
    await conn.execute(
        "INSERT INTO posts (guild_id, deliberation_id, ref, channel_id, message_id) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (deliberation_id, ref) DO UPDATE SET channel_id = excluded.channel_id,"
        " message_id = excluded.message_id",
        guild_id,
        deliberation_id,
        ref,
        channel_id,
        message_id,
    )


def _contribution_row(guild_id: int, deliberation_id: int, c: Contribution) -> tuple[Any, ...]:
    return (
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


_DELIBERATION_COLUMNS = "id, guild_id, channel_id, thread_id, question, template, status, round_kind, deadline_at"


def _deliberation_row(row: asyncpg.Record) -> DeliberationRow:
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


__all__ = ["PgStore"]
