-- Segment memberships as the segments API, profile reads and delivery
-- ranking read them (package segment writes the tables).

-- name: SegmentReadSizes
-- The current number of members of each segment of $1.
SELECT segment_id, count(*) FROM segment_members
WHERE segment_id IN (SELECT unnest(CAST($1 AS TEXT[])))
GROUP BY segment_id

-- name: SegmentReadLastRuns
-- The last $2 runs of each segment of $1 (ties of finished_at broken by
-- run id), oldest first: the last one for the segments API, a size
-- history for the console (the index segment_runs_segment_idx serves the
-- partition by segment).
SELECT segment_id, run_id, finished_at, full_run, size, entered, exited, duration_ms, status, coalesce(error, '')
FROM (
    SELECT r.*, row_number() OVER (PARTITION BY segment_id ORDER BY finished_at DESC, run_id DESC) AS n
    FROM segment_runs r
    WHERE segment_id IN (SELECT unnest(CAST($1 AS TEXT[])))
) x
WHERE n <= $2
ORDER BY segment_id, finished_at, run_id

-- name: SegmentReadRuns
-- A segment's runs, newest first.
SELECT run_id, finished_at, full_run, size, entered, exited, duration_ms, status, coalesce(error, '')
FROM segment_runs
WHERE segment_id = $1
ORDER BY finished_at DESC, run_id DESC
LIMIT $2

-- name: SegmentReadMembers
-- A page of a segment's members after the entity id $2, by entity id
-- (PostgreSQL: the index segment_members_segment_idx serves it; DuckDB
-- scans the segment's rows, which zone maps keep together).
SELECT entity_id, entered_at FROM segment_members
WHERE segment_id = $1 AND entity_id > $2
ORDER BY entity_id
LIMIT $3

-- name: SegmentReadOfEntities
-- The segments each entity of $1 is a member of (sorted by the reader:
-- collations differ).
SELECT entity_id, segment_id FROM segment_members
WHERE entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
