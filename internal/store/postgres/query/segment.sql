-- Segments: PostgreSQL overrides of query/segment.sql.

-- name: SegmentIdentFill
-- PostgreSQL has no arg_min: DISTINCT ON picks each entity's oldest
-- identifier.
INSERT INTO seg_ident (entity_id, category, value)
SELECT DISTINCT ON (entity_id) entity_id, category, value
FROM identifiers WHERE category IN (SELECT unnest(CAST($1 AS TEXT[])))
  AND (CAST($2 AS BOOLEAN) OR entity_id IN (SELECT entity_id FROM seg_diff))
ORDER BY entity_id, first_seq, category, value
