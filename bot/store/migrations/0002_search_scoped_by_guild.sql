-- Search scoped by guild inside the full-text index. Before, a search matched every guild's
-- records and dropped the other guilds' afterwards, so a small guild's search cost as much as
-- the whole database's matches (230 ms for a common word at 100,000 records; see
-- docs/benchmarks.md). The guild id is now a column of the index, and a search matches
-- `guild_id : "<id>" AND (the words)`, so only the guild's own records are ranked.

DROP TABLE decision_records_fts;

CREATE VIRTUAL TABLE decision_records_fts USING fts5 (
    question, markdown, guild_id, content = 'decision_records', content_rowid = 'deliberation_id'
);

-- Relevance as before: the words count in the question and the record, the guild id not at all.
INSERT INTO decision_records_fts (decision_records_fts, rank) VALUES ('rank', 'bm25(1.0, 1.0, 0.0)');

-- Index the records already sealed (read from decision_records, the table's content).
INSERT INTO decision_records_fts (decision_records_fts) VALUES ('rebuild');
