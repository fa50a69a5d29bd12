-- Starting and looking up deliberations without replaying them (see SQLite's 0003).
-- No PostgreSQL database predates this schema, so there is no backfill.

ALTER TABLE deliberations ADD COLUMN ai_due_at TEXT;
CREATE INDEX deliberations_by_thread ON deliberations (guild_id, thread_id);
CREATE INDEX deliberations_by_channel ON deliberations (guild_id, channel_id, status);
