-- What the console's attributes and segments pages read beyond the API's
-- queries (package console).

-- name: ConsoleAttributeHistogram
-- The distribution of a numeric attribute in $2 buckets of equal width
-- between its smallest and largest value, from the values cache (one row
-- per value with its count, so a scan of the attribute's cache rows, never
-- of customer_attributes). All values equal: one bucket, 0.
WITH v AS (
    SELECT CAST(value AS DOUBLE PRECISION) AS x, count FROM attribute_values_counts WHERE attribute_id = $1
), r AS (
    SELECT min(x) AS lo, max(x) AS hi FROM v
)
SELECT CAST(coalesce(least(floor((v.x - r.lo) / nullif(r.hi - r.lo, 0) * $2), $2 - 1), 0) AS INTEGER) AS bucket,
       min(r.lo), min(r.hi), sum(v.count)
FROM v CROSS JOIN r
GROUP BY 1
ORDER BY 1

-- name: ConsoleSegmentRunHistory
-- The last $2 runs of each segment of $1, oldest first (the index
-- segment_runs_segment_idx serves the partition by segment).
SELECT segment_id, run_id, finished_at, full_run, size, entered, exited, duration_ms, status, coalesce(error, '')
FROM (
    SELECT r.*, row_number() OVER (PARTITION BY segment_id ORDER BY finished_at DESC, run_id DESC) AS n
    FROM segment_runs r
    WHERE segment_id IN (SELECT unnest(CAST($1 AS TEXT[])))
) x
WHERE n <= $2
ORDER BY segment_id, finished_at, run_id
