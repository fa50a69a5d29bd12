-- Search as SQLite's FTS5 (unicode61) searches: diacritics folded ("cafe" finds "café"), by one
-- function that also folds the query. And a bound: PostgreSQL refuses a tsvector over 1 MB, and
-- a record must always seal (and copy), so only the first 250,000 characters of a record's
-- question and Markdown are indexed (at most 4 bytes each: under the 1 MB limit).
CREATE FUNCTION roundtable_search_text(body text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT left(regexp_replace(normalize(body, NFD), '[\u0300-\u036f]', '', 'g'), 250000) $$;

ALTER TABLE decision_records DROP COLUMN search;
ALTER TABLE decision_records ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', roundtable_search_text(question || ' ' || markdown))) STORED;
CREATE INDEX decision_records_search ON decision_records USING gin (search);
