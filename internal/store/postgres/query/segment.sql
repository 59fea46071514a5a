-- Segments: PostgreSQL overrides of query/segment.sql.

-- name: SegmentIdentFill
-- PostgreSQL has no arg_min: DISTINCT ON picks each entity's oldest
-- identifier.
INSERT INTO seg_ident (entity_id, category, value)
SELECT DISTINCT ON (entity_id) entity_id, category, value
FROM identifiers WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
  AND entity_id IN (SELECT entity_id FROM seg_diff)
ORDER BY entity_id, first_seq, category, value

-- name: SegmentIdentFillCopied
INSERT INTO seg_ident (entity_id, category, value)
SELECT DISTINCT ON (entity_id) entity_id, category, value
FROM seg_c_idents WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
  AND entity_id IN (SELECT entity_id FROM seg_diff)
ORDER BY entity_id, first_seq, category, value

-- name: SegmentIdentFillAll
INSERT INTO seg_ident (entity_id, category, value)
SELECT DISTINCT ON (entity_id) entity_id, category, value
FROM identifiers WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
ORDER BY entity_id, first_seq, category, value

-- name: SegmentEventsAppend
-- PostgreSQL's json_object takes arrays: json_build_object builds the
-- payload.
INSERT INTO event_log (id, source_id, type, version, event_time, payload, created_at)
SELECT 'weft-segment-' || CAST(c.seq AS TEXT), 'weft', 'segment_' || c.change, '1', c.changed_at,
       CAST(json_build_object('segment_id', c.segment_id, 'entity_id', c.entity_id, 'run_id', c.run_id,
                              'identifier_category', i.category, 'identifier_value', i.value) AS JSONB),
       CAST($2 AS TIMESTAMPTZ)
FROM segment_changes c
JOIN seg_ident i ON i.entity_id = c.entity_id
WHERE c.seq > $1 AND c.entity_id NOT IN (SELECT entity_id FROM erasure_pending)
