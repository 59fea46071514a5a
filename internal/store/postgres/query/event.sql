-- name: EventInsertFromStaging
-- Ids already in the log are skipped by the primary key: a btree makes
-- ON CONFLICT cheap here. In the request's order (ord), which a scan of
-- the staging table is not bound to give: seq follows the request.
INSERT INTO event_log (id, source_id, type, version, event_time, payload, created_at)
SELECT id, source_id, type, version, event_time, payload, CAST($1 AS TIMESTAMPTZ)
FROM event_staging
ORDER BY ord
ON CONFLICT (id) DO NOTHING
