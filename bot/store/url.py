"""Database URLs: `sqlite:///relative/path`, `sqlite:////absolute/path`, `postgresql://user@host:port/db`.

Pure standard library, so settings and the CLI can read a URL without loading a driver. A
PostgreSQL password is never part of a URL Roundtable accepts: it comes from the environment
(`PGPASSWORD`, or `~/.pgpass`), as libpq and asyncpg read it, so it is never stored in the
settings file or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

SQLITE: Literal["sqlite"] = "sqlite"
POSTGRESQL: Literal["postgresql"] = "postgresql"


class BadDatabaseURL(ValueError):
    """A URL that names no database Roundtable can open; the message says why in one line."""


@dataclass(frozen=True)
class DatabaseURL:
    backend: Literal["sqlite", "postgresql"]
    # The SQLite file (None for PostgreSQL).
    path: Path | None
    # The PostgreSQL DSN as given (no password), for asyncpg.
    dsn: str = ""

    def __str__(self) -> str:
        return f"sqlite:///{self.path}" if self.backend == SQLITE else self.dsn

    @property
    def is_postgresql(self) -> bool:
        return self.backend == POSTGRESQL


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{path}"


def looks_like_url(text: str) -> bool:
    return "://" in text


def parse_database_url(text: str) -> DatabaseURL:
    """The backend a URL selects; `BadDatabaseURL` naming what is wrong otherwise."""
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise BadDatabaseURL(f"{text!r} is not a database URL (sqlite:///PATH or postgresql://USER@HOST/DB)")
    scheme = scheme.lower()
    if scheme == SQLITE:
        if not rest.startswith("/") or rest == "/":
            raise BadDatabaseURL(f"{text!r}: an SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        return DatabaseURL(SQLITE, Path(rest[1:]))
    if scheme in ("postgresql", "postgres"):
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError as exc:
            raise BadDatabaseURL(f"{text!r}: not a PostgreSQL URL ({exc})") from None
        if parts.password is not None:
            raise BadDatabaseURL(
                "a PostgreSQL URL must not carry a password: set PGPASSWORD in the environment (or use ~/.pgpass)"
            )
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            raise BadDatabaseURL(f"{text!r}: name the database, e.g. postgresql://roundtable@localhost/roundtable")
        return DatabaseURL(POSTGRESQL, None, text)
    raise BadDatabaseURL(f"{text!r}: unknown database kind {scheme!r} (sqlite:///PATH or postgresql://USER@HOST/DB)")


__all__ = ["BadDatabaseURL", "DatabaseURL", "looks_like_url", "parse_database_url", "sqlite_url"]
