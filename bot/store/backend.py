"""Open the store a database URL names: the SQLite `Store` or the PostgreSQL `PgStore`.

Both have the same public API (the service, the CLI, the archive and `verify` use only it);
`AnyStore` is the type to name where either will do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from bot.store.signing import Signer
from bot.store.store import Store
from bot.store.url import DatabaseURL, looks_like_url, parse_database_url

if TYPE_CHECKING:
    from bot.store.pg import PgStore

AnyStore: TypeAlias = "Store | PgStore"


def database_url(target: DatabaseURL | str | Path) -> DatabaseURL:
    """A URL, or a plain path (the SQLite file, as every command took before URLs)."""
    if isinstance(target, DatabaseURL):
        return target
    text = str(target)
    if looks_like_url(text):
        return parse_database_url(text)
    return DatabaseURL("sqlite", Path(text))


async def open_store(
    target: DatabaseURL | str | Path, *, migrate: bool = True, signer: Signer | None = None
) -> Store | PgStore:
    url = database_url(target)
    if url.is_postgresql:
        from bot.store.pg import PgStore  # asyncpg loads only for PostgreSQL

        return await PgStore.open(url.dsn, migrate=migrate, signer=signer)
    assert url.path is not None
    return await Store.open(url.path, migrate=migrate, signer=signer)


__all__ = ["AnyStore", "database_url", "open_store"]
