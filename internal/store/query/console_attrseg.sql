-- What the console's attributes page reads beyond the API's queries
-- (package console); its segments pages read query/segmentread.sql.

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
