"""Storage: SQLite through aiosqlite. SQL lives here and nowhere else."""

from bot.store.store import DeliberationRow, GuildSettings, PendingPost, RecordSummary, Store, StoredRecord

__all__ = ["DeliberationRow", "GuildSettings", "PendingPost", "RecordSummary", "Store", "StoredRecord"]
