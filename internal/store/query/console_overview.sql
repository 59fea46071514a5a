-- What the console's overview reads beyond Stats.

-- name: EventCountsBySeq
-- Events of a seq range counted per UTC day and source (the day set) and
-- per event type (no day), in one scan: the overview counts the whole log
-- once, then only the events that arrived since (a seq range is cheap on
-- both engines: zone maps on DuckDB, the seq index on PostgreSQL).
SELECT day, source_id, type, version, count(*)
FROM (
    SELECT CAST(floor(extract(epoch FROM event_time) / 86400) AS BIGINT) AS day, source_id, type, version
    FROM event_log
    WHERE seq > $1 AND seq <= $2
) e
GROUP BY GROUPING SETS ((day, source_id), (source_id, type, version))

-- name: StatsVersion
-- What changes when Stats would: the log's last seq and the stitching
-- watermark. Both are cheap (the seq index on PostgreSQL, the column's
-- statistics on DuckDB; stitch_state is one row).
SELECT (SELECT coalesce(max(seq), 0) FROM event_log),
       (SELECT coalesce(max(watermark), 0) FROM stitch_state)
