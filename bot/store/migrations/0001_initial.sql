-- Roundtable's first schema. Events are the truth; the other tables are what queries need.

CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    moderator_role_id   INTEGER,
    archive_channel_id  INTEGER,
    ai_enabled          INTEGER NOT NULL DEFAULT 1,
    updated_at          TEXT NOT NULL
);

CREATE TABLE deliberations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     INTEGER NOT NULL,
    channel_id   INTEGER,
    thread_id    INTEGER,
    question     TEXT NOT NULL,
    template     TEXT NOT NULL,
    status       TEXT NOT NULL,
    round_kind   TEXT,
    deadline_at  TEXT,
    created_at   TEXT NOT NULL,
    closed_at    TEXT
);
CREATE INDEX deliberations_by_guild_status ON deliberations (guild_id, status, id);

-- Append-only and hash-chained per stream ('d:<deliberation id>' or 'g:<guild id>').
CREATE TABLE events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id         INTEGER NOT NULL,
    stream           TEXT NOT NULL,
    deliberation_id  INTEGER REFERENCES deliberations (id),
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    actor            TEXT NOT NULL,
    actor_name       TEXT NOT NULL,
    at               TEXT NOT NULL,
    payload          TEXT NOT NULL,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL,
    UNIQUE (stream, seq)
);
CREATE INDEX events_by_deliberation ON events (deliberation_id, seq);

-- The application never changes an event; these make an accidental change fail loudly.
-- (They are no defence against someone with the file: `verify` is.)
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE contributions (
    deliberation_id  INTEGER NOT NULL REFERENCES deliberations (id),
    id               INTEGER NOT NULL,
    guild_id         INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    author           TEXT NOT NULL,
    author_kind      TEXT NOT NULL,
    stance           TEXT,
    text             TEXT NOT NULL,
    ai_meta          TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT,
    PRIMARY KEY (deliberation_id, id)
);

CREATE TABLE decision_records (
    deliberation_id  INTEGER PRIMARY KEY REFERENCES deliberations (id),
    guild_id         INTEGER NOT NULL,
    question         TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    sealed_at        TEXT NOT NULL,
    chain_head       TEXT NOT NULL,
    digest           TEXT NOT NULL,
    record_json      TEXT NOT NULL,
    markdown         TEXT NOT NULL
);
CREATE INDEX decision_records_by_guild ON decision_records (guild_id, sealed_at DESC, deliberation_id DESC);

CREATE VIRTUAL TABLE decision_records_fts USING fts5 (
    question, markdown, content = 'decision_records', content_rowid = 'deliberation_id'
);

-- Where the Discord layer posted things, so it can edit them later (an objection's status).
CREATE TABLE posts (
    guild_id         INTEGER NOT NULL,
    deliberation_id  INTEGER NOT NULL REFERENCES deliberations (id),
    ref              TEXT NOT NULL,
    channel_id       INTEGER NOT NULL,
    message_id       INTEGER NOT NULL,
    PRIMARY KEY (deliberation_id, ref)
);
