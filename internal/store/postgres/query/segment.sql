-- Segments: PostgreSQL overrides of query/segment.sql.

-- name: SegmentEventsAppend
-- PostgreSQL has no arg_min: DISTINCT ON picks each entity's oldest
-- identifier.
INSERT INTO event_log (id, source_id, type, version, event_time, payload, created_at)
SELECT 'weft-segment-' || CAST(c.seq AS TEXT), 'weft', 'segment_' || c.change, '1', c.changed_at,
       CAST('{"segment_id":' || CAST(to_json(c.segment_id) AS TEXT) || ',"entity_id":' || CAST(to_json(c.entity_id) AS TEXT)
            || ',"run_id":' || CAST(to_json(c.run_id) AS TEXT) || ',"identifier_category":' || CAST(to_json(i.category) AS TEXT)
            || ',"identifier_value":' || CAST(to_json(i.value) AS TEXT) || '}' AS JSON),
       CAST($2 AS TIMESTAMPTZ)
FROM segment_changes c
JOIN entities e ON e.id = c.entity_id AND e.merged_into IS NULL
JOIN (SELECT DISTINCT ON (entity_id) entity_id, category, value
      FROM identifiers WHERE entity_id IN (SELECT entity_id FROM seg_diff) AND category IN (SELECT unnest(CAST($3 AS TEXT[])))
      ORDER BY entity_id, first_seq, category, value) i ON i.entity_id = c.entity_id
WHERE c.seq > $1

-- name: SegmentIdentFill
INSERT INTO seg_ident (entity_id, category, value)
SELECT DISTINCT ON (entity_id) entity_id, category, value
FROM identifiers WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
ORDER BY entity_id, first_seq, category, value
