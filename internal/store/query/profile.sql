-- Customer entities built by stitching, as the profiles API and /v1/stats read them.

-- name: EntityMergedInto
SELECT merged_into FROM entities WHERE id = $1

-- name: EntityRow
-- An entity's row and whether it was merged (EntityGet).
SELECT id, created_at, modified_at, merged_into FROM entities WHERE id = $1

-- name: EntityByIdentifier
SELECT entity_id FROM identifiers WHERE category = $1 AND value = $2

-- name: EntityRows
SELECT id, created_at, modified_at FROM entities WHERE id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: EntityPage
SELECT id, created_at, modified_at FROM entities
WHERE merged_into IS NULL AND id > $1
ORDER BY id
LIMIT $2

-- name: EntityIdentifiers
SELECT entity_id, category, value, first_seq FROM identifiers
WHERE /*key entity_key IN $1[]*/ entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
ORDER BY entity_id, category, first_seq, value

-- name: EntityEventStats
SELECT m.entity_id, count(*), min(e.event_time), max(e.event_time)
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
WHERE /*key m.entity_key IN $1[]*/ m.entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
GROUP BY m.entity_id

-- name: EntityEvents
SELECT e.seq, e.id, e.source_id, e.type, e.version, e.event_time, CAST(e.payload AS TEXT), e.created_at
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
WHERE /*key m.entity_key = $1*/ m.entity_id = $1 AND m.event_seq > $2
ORDER BY e.seq
LIMIT $3

-- name: EntityMerges
-- The merges into the entity and into every entity merged into it before.
WITH RECURSIVE absorbed(id) AS (
    SELECT CAST($1 AS TEXT)
    UNION
    SELECT x.id FROM entities x JOIN absorbed a ON x.merged_into = a.id
)
SELECT survivor, loser, event_seq, category, value, merged_at
FROM stitch_merges
WHERE survivor IN (SELECT id FROM absorbed)
ORDER BY merged_at, event_seq, loser

-- name: StitchStats
SELECT
    (SELECT count(*) FROM entities WHERE merged_into IS NULL),
    (SELECT count(*) FROM entities WHERE merged_into IS NOT NULL),
    (SELECT count(*) FROM stitch_merges),
    (SELECT watermark FROM stitch_state WHERE id = 1)

-- name: StitchIdentifierCounts
SELECT category, count(*) FROM identifiers GROUP BY category ORDER BY category

-- name: StitchLargestEntity
SELECT entity_id, count(*) AS n FROM entity_events GROUP BY entity_id ORDER BY n DESC, entity_id LIMIT 1

-- name: StitchAuditCounts
SELECT reason, count(DISTINCT category || ':' || value), sum(events) FROM stitch_audit GROUP BY reason ORDER BY reason

-- name: EntityAssignments
SELECT e.id, m.entity_id FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
