-- `verify` proves the whole database (issue 9).
--
-- Each guild gets a ledger chain, stream 'l:<guild id>', in the same `events` table: it records
-- every deliberation's opening (the hash of its first event) and its sealing or cancelling
-- (the sealing event's seq and hash), and every settings change, so a deliberation deleted
-- whole, a chain cut short or a guild's settings chain removed no longer leave a consistent
-- file. The ledger of a database written before this migration is filled in by the store
-- right after these statements (in the same transaction: see `Store.migrate`), from the events
-- as they are at that moment.
--
-- An event's `guild_id` and `deliberation_id` columns are not in its hash, and existing chains
-- must keep verifying byte for byte, so they are bound without re-hashing: `deliberation_id`
-- must be the N of its stream 'd:N' (which is hashed), and a deliberation's guild must be the
-- guild whose ledger lists it (the ledger's payloads are hashed); signed heads pin it too.

-- The head of every chain, as last written, and the bot's Ed25519 signature of it (see
-- bot/store/signing.py): a chain re-hashed by someone who holds the file but not the key fails
-- `verify --public-key`, and a chain cut short no longer ends at its recorded head.
CREATE TABLE stream_heads (
    stream     TEXT PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    key_id     TEXT,
    signature  TEXT
);

-- Public keys that signed heads here (the private key never enters the database). An export
-- carries the key so it can be checked without the database; `verify --public-key` checks
-- against a key the operator trusts instead of this table.
CREATE TABLE signing_keys (
    key_id      TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    added_at    TEXT NOT NULL
);

-- The sealing head's signature, kept with the record so it can be posted and exported.
ALTER TABLE decision_records ADD COLUMN seal_seq INTEGER;
ALTER TABLE decision_records ADD COLUMN key_id TEXT;
ALTER TABLE decision_records ADD COLUMN signature TEXT;

UPDATE decision_records SET seal_seq = (
    SELECT e.seq FROM events e WHERE e.stream = 'd:' || decision_records.deliberation_id
    AND e.hash = decision_records.chain_head
);

-- Signatures and keys are written by the application only; a change to them is as loud as one
-- to an event (and `verify` checks these triggers are still here).
CREATE TRIGGER signing_keys_no_update BEFORE UPDATE ON signing_keys
BEGIN SELECT RAISE(ABORT, 'signing keys are append-only'); END;
CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys
BEGIN SELECT RAISE(ABORT, 'signing keys are append-only'); END;
