-- name: EventInsertFromStaging
-- ON CONFLICT costs little on a btree, so PostgreSQL skips duplicates on the
-- first try and never needs the retry the shared plain insert relies on.
INSERT INTO customer_events (id, source_id, type, version, event_time, payload, created_at)
SELECT id, source_id, type, version, event_time, payload, CAST($1 AS TIMESTAMPTZ)
FROM event_staging
ON CONFLICT (id) DO NOTHING
