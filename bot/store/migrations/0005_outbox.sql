-- The outbox: every post the bot owes Discord, written in the same transaction as the change
-- that owes it, so a post is never lost to a Discord error or a restart (PRODUCT.md, principle 5).
--
-- `ref` names what is posted (`c:3` a contribution, `o:4` an objection, `round-opened:1`,
-- `record`, `record-archive`, `thread`, ...): unique per deliberation, so a change owing a post
-- already owed adds nothing. `delivered_at` is set with the message's place once it is posted;
-- until then `attempts`, `retry_at` and `last_error` say how delivery is going. `given_up_at` is
-- set when Discord refuses for good (a deleted channel, missing permissions): logged, not retried.

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    deliberation_id  INTEGER NOT NULL REFERENCES deliberations (id),
    ref              TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    retry_at         TEXT,
    last_error       TEXT,
    delivered_at     TEXT,
    given_up_at      TEXT,
    channel_id       INTEGER,
    message_id       INTEGER,
    UNIQUE (deliberation_id, ref)
);

-- What is still owed, per guild, in the order it was owed.
CREATE INDEX outbox_pending ON outbox (guild_id, deliberation_id, id)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
