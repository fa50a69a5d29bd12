"""Storage lost mid-run: the errors that mean "the database cannot take this now", and one log line per outage.

A store's public methods are wrapped (`guard`) so that a backend's own way of saying the database
is gone (asyncpg's dropped connection, SQLite's disk I/O error, ...) reaches the service and the
Discord layer as `errors.StorageUnavailable`: members get a short "storage is unavailable, nothing
was recorded" instead of an apology and a traceback, the scheduler retries a deadline later, and
the outbox keeps its posts owed. Each backend says which of its errors these are (`Classify`);
anything else (a bug, a constraint, corruption) passes through unchanged.

Nothing is half-stored: every write is one transaction, which the database rolls back when it
fails (SQLite on an I/O error, PostgreSQL when the connection drops before COMMIT), and the service
drops its cached deliberation when a store call fails.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from bot.engine import errors

log = logging.getLogger(__name__)

Classify = Callable[[BaseException], errors.RoundtableError | None]
"""The refusal a backend's error means (StorageUnavailable or DatabaseBusy), or None to let it pass."""

_C = TypeVar("_C", bound=type)

# SQLite's primary result codes (extended codes carry these in their low byte) that mean the file
# cannot be read or written now. CORRUPT and NOTADB are not here: they do not pass, and an
# operator must look (they stay errors with a traceback).
_SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_IOERR,  # "disk I/O error": the disk or the file system failed
        sqlite3.SQLITE_FULL,  # "database or disk is full"
        sqlite3.SQLITE_CANTOPEN,  # "unable to open database file" (or its journal)
        sqlite3.SQLITE_READONLY,  # "attempt to write a readonly database": remounted read-only
    }
)
_SQLITE_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def sqlite_fault(exc: BaseException) -> errors.RoundtableError | None:
    """SQLite: I/O errors, a full disk, a file that cannot be opened or written are "unavailable";
    a lock held past the busy timeout (another process writing) is "busy"."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    if code & 0xFF in _SQLITE_UNAVAILABLE:
        return errors.StorageUnavailable()
    if code & 0xFF in _SQLITE_BUSY:
        return errors.DatabaseBusy("The database is busy right now; nothing was recorded. Please try again.")
    return None


# An outage is over when a call of the kind that failed succeeds: a full disk or a read-only file
# still answers reads, and a read that works says nothing about writes (it would log "available
# again" and then "unavailable" for every refused action). A success of any call ends it once no
# call has failed for this long (a failed call that is never made again must not hold it open).
QUIET_SECONDS = 60.0


class Outage:
    """One warning when storage goes away and one line when it is back, however many calls fail between."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.since: float | None = None  # monotonic time of the first failure, while it lasts
        self.failures = 0
        self.last_failure = 0.0
        self._failing: set[str] = set()  # the calls (store methods) that failed during this outage

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, call: str = "") -> None:
        self.failures += 1
        self.last_failure = time.monotonic()
        self._failing.add(call)
        if self.since is None:
            self.since = time.monotonic()
            log.warning(
                "Storage (%s) is unavailable: %s: %s. Actions are refused ('nothing was recorded') until it is back.",
                self.backend,
                type(exc).__name__,
                str(exc).strip() or "no message",
            )
        else:
            log.debug("Storage (%s) still unavailable: %s", self.backend, type(exc).__name__)

    def succeeded(self, call: str = "") -> None:
        if self.since is None:
            return
        if call not in self._failing and time.monotonic() - self.last_failure < QUIET_SECONDS:
            return  # e.g. a read, while writes fail: not back yet
        lasted = time.monotonic() - self.since
        log.warning(
            "Storage (%s) is available again after %.0f s; %d calls were refused meanwhile.",
            self.backend,
            lasted,
            self.failures,
        )
        self.since, self.failures = None, 0
        self._failing.clear()


def guard(cls: _C, classify: Classify) -> _C:
    """Wrap every public async method (and async generator) of a store class so that the errors
    `classify` names are raised as its refusal, noted in the store's `outage`.

    Applied to the class once, at import, so a method added later is covered too.
    """
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or name == "close":
            continue
        if inspect.iscoroutinefunction(member):
            setattr(cls, name, _guard_coroutine(member, classify))
        elif inspect.isasyncgenfunction(member):
            setattr(cls, name, _guard_generator(member, classify))
    return cls


def _note(store: Any, exc: BaseException, call: str) -> None:
    outage: Outage | None = getattr(store, "outage", None)
    if outage is not None:
        outage.failed(exc.__cause__ or exc if isinstance(exc, errors.StorageUnavailable) else exc, call)


def _translate(store: Any, exc: Exception, classify: Classify, call: str) -> errors.RoundtableError | None:
    refusal = classify(exc)
    if isinstance(refusal, errors.StorageUnavailable):
        _note(store, exc, call)
    return refusal


def _answered(store: Any, call: str) -> None:
    outage: Outage | None = getattr(store, "outage", None)
    if outage is not None and outage.down:
        outage.succeeded(call)


@contextmanager
def _refusals(store: Any, classify: Classify, call: str) -> Iterator[None]:
    """An outage raised as StorageUnavailable (and noted once); the database's own refusals as they are."""
    try:
        yield
    except errors.StorageUnavailable as exc:  # raised by the store itself (a lost COMMIT)
        _note(store, exc, call)
        raise
    except errors.RoundtableError:
        # The database answered (a refusal such as NotFound).
        raise
    except Exception as exc:
        refusal = _translate(store, exc, classify, call)
        if refusal is None:
            raise
        raise refusal from exc


def _guard_coroutine(fn: Callable[..., Any], classify: Classify) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _refusals(self, classify, fn.__name__):
            result = await fn(self, *args, **kwargs)
        _answered(self, fn.__name__)
        return result

    return guarded


def _guard_generator(fn: Callable[..., AsyncIterator[Any]], classify: Classify) -> Callable[..., AsyncIterator[Any]]:
    @functools.wraps(fn)
    async def guarded(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        with _refusals(self, classify, fn.__name__):
            async for item in fn(self, *args, **kwargs):
                yield item
        _answered(self, fn.__name__)

    return guarded


__all__ = ["Classify", "Outage", "guard", "sqlite_fault"]
