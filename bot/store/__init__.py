"""Storage: SQLite through aiosqlite, or PostgreSQL through asyncpg (`backend.open_store` picks by URL).
SQL lives here and nowhere else."""

from bot.store.store import DeliberationRow, GuildSettings, PendingPost, RecordSummary, Store, StoredRecord

__all__ = ["DeliberationRow", "GuildSettings", "PendingPost", "RecordSummary", "Store", "StoredRecord"]
