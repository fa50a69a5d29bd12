"""Storage: SQLite through aiosqlite. SQL lives here and nowhere else."""

from bot.store.store import DeliberationRow, GuildSettings, RecordSummary, Store, StoredRecord

__all__ = ["DeliberationRow", "GuildSettings", "RecordSummary", "Store", "StoredRecord"]
