-- What the identity graph (package identitygraph) and the entity history
-- read: each bounded by one entity, a LIMIT, or the small split log.

-- GraphEvents: the rows of event_log the stitching rules are evaluated
-- over for an entity's graph: its first events by seq, at most $2. The
-- bound is taken on entity_events alone: as a join ordered by seq,
-- PostgreSQL scanned all of entity_events (170 ms on a 200k store,
-- against 0.3 ms through the entity index).
-- name: GraphEvents
(SELECT * FROM event_log
 WHERE seq IN (SELECT event_seq FROM entity_events WHERE /*key entity_key = $1*/ entity_id = $1 ORDER BY event_seq LIMIT $2))

-- name: GraphRefused
-- The links the engine refused in an entity's events (stitch_refused),
-- with the events that carried them.
SELECT r.category, r.value, r.reason, e.seq, e.id, e.type, e.event_time
FROM stitch_refused r JOIN event_log e ON e.seq = r.event_seq
WHERE r.entity_id = $1
ORDER BY r.category, r.value, e.seq
LIMIT $2

-- name: EntitySplitOf
-- The newest split of an entity.
SELECT entity_id, parts, category, value, event_seq, constraint_id, split_at
FROM stitch_splits
WHERE entity_id = $1
ORDER BY split_at DESC
LIMIT 1

-- name: EntitySplits
-- The splits of an entity, of every entity merged into it before, and
-- the splits that made it (it is one of the parts; parts is a JSON array
-- of quoted ids, so a LIKE on the quoted id finds it on both backends).
WITH RECURSIVE absorbed(id) AS (
    SELECT CAST($1 AS TEXT)
    UNION
    SELECT x.id FROM entities x JOIN absorbed a ON x.merged_into = a.id
)
SELECT entity_id, parts, category, value, event_seq, constraint_id, split_at
FROM stitch_splits
WHERE entity_id IN (SELECT id FROM absorbed)
   OR parts LIKE '%"' || CAST($1 AS TEXT) || '"%'
ORDER BY split_at DESC, entity_id
