"""Group commit: concurrent writes share one SQLite transaction, and so one fsync.

With `synchronous = FULL` every COMMIT waits for the disk, and that wait, not the SQL, bounds how
many actions a second one connection can store. When writes arrive while a transaction is being
committed (a burst of votes into different deliberations), they queue; the next transaction
takes them all: BEGIN IMMEDIATE, each write inside its own SAVEPOINT, one COMMIT.

- Each caller is answered only after the COMMIT that holds its write, so an acknowledged action
  is on disk (a kill mid-batch loses only writes nobody was told were stored).
- A write that raises is rolled back to its savepoint and its caller gets the error; the other
  writes in the batch commit as if it had never been there.
- If the transaction itself fails (the COMMIT, a disk error, a locked database), every caller in
  it gets the error and nothing of the batch is stored.

Writes stay one at a time on the connection's thread, in arrival order; nothing waits to fill a
batch, so a lone write costs what it did before.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

_T = TypeVar("_T")
Write = Callable[[sqlite3.Connection], Any]

# A batch larger than this is split: one transaction holding thousands of writes delays all of
# their answers until the last is done.
MAX_BATCH = 256


class GroupCommit:
    def __init__(self, conn: aiosqlite.Connection, writer: asyncio.Lock) -> None:
        self._conn = conn
        # Held while a batch runs, so `Store.transaction()` users never interleave with one.
        self._writer = writer
        self._queue: list[tuple[Write, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed or attempted, for benchmarks
        self.writes = 0

    async def submit(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn(conn)` in the next transaction; return its result once that transaction committed."""
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._queue.append((fn, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="roundtable-group-commit")
        return await future

    async def drain(self) -> None:
        """Wait until every queued write has been committed or refused (before closing)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            live = [(fn, future) for fn, future in batch if not future.cancelled()]
            if not live:
                continue
            try:
                async with self._writer:
                    outcomes = await _on_connection_thread(self._conn, run_batch, [fn for fn, _ in live])
            except BaseException as exc:
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    for _, future in self._queue:
                        if not future.done():
                            future.set_exception(exc)
                    self._queue.clear()
                    raise
                continue
            self.batches += 1
            self.writes += len(live)
            for (_, future), (ok, value) in zip(live, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)


def run_batch(conn: sqlite3.Connection, writes: list[Write]) -> list[tuple[bool, Any]]:
    """On the connection's thread: every write in one transaction, each isolated in a savepoint.

    Returns (True, result) or (False, exception) per write; raises (having rolled back
    everything) if the transaction as a whole fails.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if len(writes) == 1:
            # Alone: the transaction is its savepoint, and its error fails the whole (empty) batch.
            outcomes: list[tuple[bool, Any]] = [(True, writes[0](conn))]
        else:
            outcomes = [_isolated(conn, fn) for fn in writes]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _isolated(conn: sqlite3.Connection, fn: Write) -> tuple[bool, Any]:
    conn.execute("SAVEPOINT member")
    try:
        result = fn(conn)
    except Exception as exc:
        # Undo this write only. If SQLite already rolled back the whole transaction (a disk
        # error does), `run_batch` fails every member, with this error rather than the failed
        # ROLLBACK TO's "no such savepoint".
        if not conn.in_transaction:
            raise
        conn.execute("ROLLBACK TO member")
        conn.execute("RELEASE member")
        return False, exc
    conn.execute("RELEASE member")
    return True, result


async def _on_connection_thread(db: aiosqlite.Connection, fn: Callable[..., _T], *args: Any) -> _T:
    # The same single round trip as bot.store.store._on_connection_thread (kept here to avoid a cycle).
    return await db._execute(lambda: fn(db._conn, *args))
