-- The customer event log and its catalog.

-- name: EventAppendLock
-- Appends are serialized in process by DB.appendMu; PostgreSQL overrides
-- this to serialize across processes too, so that seq order is commit order.
SELECT 1

-- name: SourceInsertFromStaging
INSERT INTO sources (id, created_at)
SELECT DISTINCT source_id, CAST($1 AS TIMESTAMPTZ) FROM event_staging
ON CONFLICT (id) DO NOTHING

-- name: EventTypeInsertFromStaging
INSERT INTO event_types (id, source_id, type, version, created_at)
SELECT DISTINCT source_id || '/' || type || '/' || version, source_id, type, version, CAST($1 AS TIMESTAMPTZ)
FROM event_staging
ON CONFLICT (id) DO NOTHING

-- name: EventInsertFromStaging
-- Rows are inserted in staging (scan) order, which on DuckDB is the input
-- order (it keeps insertion order), so seq follows the order of the
-- request; the conformance suite checks it. PostgreSQL's scans promise no
-- order: its override orders by the request position (ord).
-- The DuckDB backend leaves ids already in the log out of the staging table
-- (it has no unique index; see its package doc); PostgreSQL overrides this
-- with ON CONFLICT on its primary key.
INSERT INTO event_log (id, source_id, type, version, event_time, payload, created_at)
SELECT id, source_id, type, version, event_time, payload, CAST($1 AS TIMESTAMPTZ)
FROM event_staging

-- name: EventList
SELECT seq, id, source_id, type, version, event_time, CAST(payload AS TEXT), created_at
FROM event_log
WHERE seq > $1 AND ($2 = '' OR source_id = $2) AND ($3 = '' OR type = $3)
ORDER BY seq
LIMIT $4

-- name: EventListDesc
SELECT seq, id, source_id, type, version, event_time, CAST(payload AS TEXT), created_at
FROM event_log
WHERE seq < $1 AND ($2 = '' OR source_id = $2) AND ($3 = '' OR type = $3)
ORDER BY seq DESC
LIMIT $4

-- name: SourceInsert
INSERT INTO sources (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING

-- name: EventTypeInsert
INSERT INTO event_types (id, source_id, type, version, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING

-- name: EventTypeList
SELECT id, source_id, type, version, created_at FROM event_types ORDER BY id

-- name: SourceList
SELECT id, created_at FROM sources ORDER BY id

-- name: Stats
SELECT
    (SELECT count(*) FROM event_log),
    (SELECT count(*) FROM event_types),
    (SELECT count(*) FROM sources),
    (SELECT coalesce(max(seq), 0) FROM event_log)

-- name: IdentifiedRowsCreate
-- The identifiers config SQL found for DB.DeleteIdentified (confined
-- engines only): made by the restricted role, which writes it.
CREATE TEMP TABLE IF NOT EXISTS identified_rows (id TEXT, category TEXT, value TEXT)

-- name: IdentifiedRowsClear
DELETE FROM identified_rows

-- name: EventSeqReserve
-- Draws $1 values of the log's sequence (DuckDB: range), for statements
-- that give their rows' seq themselves (segment.run.reserveSeqs): the
-- first, the last and how many, a contiguous range when nothing else
-- draws meanwhile, which the caller checks.
SELECT coalesce(min(s), 0), coalesce(max(s), -1), count(*) FROM (SELECT nextval('customer_events_seq') AS s FROM range(CAST($1 AS BIGINT))) r
