-- Starting and looking up deliberations without replaying them (see docs/benchmarks.md, "discord").
--
-- `ai_due_at`: when the seated AI participants may next be due to state positions (half the
-- positions round's time, or earlier once every member has spoken or the moderator asked);
-- NULL when no AI participant is waiting. The service writes it with every action, so a start
-- schedules the AI's half-time timers from one query and loads a deliberation only when its
-- timer fires (which then asks the engine, `Deliberation.ai_due`, as before).

ALTER TABLE deliberations ADD COLUMN ai_due_at TEXT;

-- Open deliberations stored before this column: those in a positions round with an AI seat
-- whose AI has not stated a position get the round's opening time, the earliest they could be
-- due. Their timer fires on the next start, loads them and checks, as every start did before;
-- their next action stores the exact time.
UPDATE deliberations SET ai_due_at = (
    SELECT e.at FROM events e
    WHERE e.deliberation_id = deliberations.id AND e.kind = 'round.opened'
    ORDER BY e.seq DESC LIMIT 1
)
WHERE status = 'open' AND round_kind = 'positions'
  AND (
    SELECT json_array_length(e.payload, '$.ai_participants') FROM events e
    WHERE e.deliberation_id = deliberations.id AND e.kind = 'deliberation.opened'
  ) > (
    SELECT COUNT(DISTINCT c.author) FROM contributions c
    WHERE c.deliberation_id = deliberations.id AND c.kind = 'position' AND c.author_kind = 'ai'
  );

-- Which open deliberation a command means, by its thread or (one channel, several
-- deliberations) by its channel, without reading the guild's open deliberations.
CREATE INDEX deliberations_by_thread ON deliberations (guild_id, thread_id);
CREATE INDEX deliberations_by_channel ON deliberations (guild_id, channel_id, status);
