-- Full-text search with PostgreSQL's own text search (SQLite's is an FTS5 table): the words of
-- the question and the record, kept by the database itself in a generated column (it cannot
-- drift from its record), indexed with the guild id so a search reads only its guild's matches.
-- The 'simple' configuration: no stemming and no stop words, as SQLite's unicode61 tokenizer.

ALTER TABLE decision_records ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', question || ' ' || markdown)) STORED;
CREATE INDEX decision_records_search ON decision_records USING gin (search);
