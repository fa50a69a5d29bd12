"""Database URLs: `sqlite:///relative/path`, `sqlite:////absolute/path`, `postgresql://user@host:port/db`.

Pure standard library, so settings and the CLI can read a URL without loading a driver. A
PostgreSQL password is never part of a URL Roundtable accepts: it comes from the environment
(`PGPASSWORD`, or `~/.pgpass`), as libpq and asyncpg read it, so it is never stored in the
settings file or the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

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
    # The PostgreSQL database it names (the path, or `?dbname=`), passed to asyncpg explicitly:
    # asyncpg alone ignores `?dbname=` beside an empty path and would open the user's database.
    database: str = ""

    def __str__(self) -> str:
        return f"sqlite:///{self.path}" if self.backend == SQLITE else redact(self.dsn)

    def connect_kwargs(self) -> dict[str, Any]:
        """What asyncpg.connect / create_pool take to open exactly the database this URL names."""
        return {"dsn": self.dsn, "database": self.database}

    @property
    def is_postgresql(self) -> bool:
        return self.backend == POSTGRESQL


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{path}"


def looks_like_url(text: str) -> bool:
    return "://" in text


# Query parameters asyncpg honours as libpq does (and Roundtable accepts). Anything else asyncpg
# would silently ignore or send to the server as a setting, so it is refused rather than guessed.
_PG_PARAMETERS = frozenset(
    {
        "host",
        "port",
        "dbname",
        "database",
        "user",
        "passfile",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
        "application_name",
    }
)
_NO_PASSWORD = "a PostgreSQL URL must not carry a password: set PGPASSWORD in the environment (or use ~/.pgpass)"
_SECRET_QUERY = re.compile(r"(?i)([?&][^=&#]*pass[^=&#]*=)[^&#]*")
_USERINFO_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:?#]*):[^/@?#]*@")


def redact(text: str) -> str:
    """The URL with every secret part (a password in the user part or the query) shown as `***`:
    what messages and logs may show of a URL someone typed."""
    text = _USERINFO_PASSWORD.sub(r"\1:***@", text)
    return _SECRET_QUERY.sub(r"\1***", text)


def pg_connect_kwargs(dsn: str) -> dict[str, Any]:
    """asyncpg's arguments for a PostgreSQL URL (validated by `parse_database_url`)."""
    return parse_database_url(dsn).connect_kwargs()


def parse_database_url(text: str) -> DatabaseURL:
    """The backend a URL selects; `BadDatabaseURL` naming what is wrong otherwise."""
    text = text.strip()
    shown = redact(text)
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise BadDatabaseURL(f"{shown!r} is not a database URL (sqlite:///PATH or postgresql://USER@HOST/DB)")
    scheme = scheme.lower()
    if scheme == SQLITE:
        if not rest.startswith("/") or rest == "/":
            raise BadDatabaseURL(f"{shown!r}: an SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        return DatabaseURL(SQLITE, Path(rest[1:]))
    if scheme in ("postgresql", "postgres"):
        return _postgresql(text, shown)
    raise BadDatabaseURL(f"{shown!r}: unknown database kind {scheme!r} (sqlite:///PATH or postgresql://USER@HOST/DB)")


def _postgresql(text: str, shown: str) -> DatabaseURL:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a port that is not a number raises here
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise BadDatabaseURL(f"{shown!r}: not a PostgreSQL URL ({redact(str(exc))})") from None
    if parts.password is not None or any("password" in key.lower() for key, _ in query):
        raise BadDatabaseURL(_NO_PASSWORD)
    given: dict[str, str] = {}
    for key, value in query:
        if key not in _PG_PARAMETERS:
            raise BadDatabaseURL(f"{shown!r}: the parameter {key!r} is not one Roundtable passes on to PostgreSQL")
        if key in given:
            raise BadDatabaseURL(f"{shown!r}: the parameter {key!r} is given twice")
        given[key] = value
    named = [n for n in (unquote(parts.path.lstrip("/")), given.get("dbname", ""), given.get("database", "")) if n]
    if not named:
        raise BadDatabaseURL(f"{shown!r}: name the database, e.g. postgresql://roundtable@localhost/roundtable")
    if len(set(named)) > 1:
        raise BadDatabaseURL(f"{shown!r}: names more than one database ({', '.join(sorted(set(named)))})")
    # asyncpg takes the user, host and port before the `@` and ignores the query's then.
    for key, before_at in (("user", parts.username), ("host", parts.hostname), ("port", parts.port)):
        if key in given and before_at:
            raise BadDatabaseURL(f"{shown!r}: names the {key} twice (before the @ and as ?{key}=)")
    return DatabaseURL(POSTGRESQL, None, text, named[0])


__all__ = [
    "BadDatabaseURL",
    "DatabaseURL",
    "looks_like_url",
    "parse_database_url",
    "pg_connect_kwargs",
    "redact",
    "sqlite_url",
]
