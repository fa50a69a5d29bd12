-- The ledger chains 'l:<guild>', chain heads and their signatures (see SQLite's 0004, which
-- also backfills: no PostgreSQL database predates it).

CREATE TABLE stream_heads (
    stream     TEXT PRIMARY KEY,
    guild_id   BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    key_id     TEXT,
    signature  TEXT
);

CREATE TABLE signing_keys (
    key_id      TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    added_at    TEXT NOT NULL
);

ALTER TABLE decision_records ADD COLUMN seal_seq BIGINT;
ALTER TABLE decision_records ADD COLUMN key_id TEXT;
ALTER TABLE decision_records ADD COLUMN signature TEXT;

CREATE TRIGGER signing_keys_no_update BEFORE UPDATE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION roundtable_append_only('signing keys');
CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION roundtable_append_only('signing keys');
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION roundtable_append_only('signing keys');
