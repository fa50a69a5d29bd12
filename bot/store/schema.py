"""The schema's migrations as shipped with the package: read by the store to apply them and by
`verify` to check a database's schema against them."""

from __future__ import annotations

import sqlite3
from importlib import resources

# Migration 0004 and later keep chain heads (and sign them).
SIGNED_SINCE = 4


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, SQL) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text()))
    return sorted(found)


def pg_migrations() -> list[tuple[int, str, str]]:
    """PostgreSQL's migrations (migrations_pg/): the same numbers and names as SQLite's."""
    found = []
    for entry in resources.files("bot.store").joinpath("migrations_pg").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return sorted(found)


def split_sql(script: str) -> list[str]:
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


__all__ = ["SIGNED_SINCE", "migrations", "pg_migrations", "split_sql"]
