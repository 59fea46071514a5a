-- name: EventInsertFromStaging
-- Ids already in the log are skipped by the primary key: a btree makes
-- ON CONFLICT cheap here.
INSERT INTO event_log (id, source_id, type, version, event_time, payload, created_at)
SELECT id, source_id, type, version, event_time, payload, CAST($1 AS TIMESTAMPTZ)
FROM event_staging
ON CONFLICT (id) DO NOTHING
