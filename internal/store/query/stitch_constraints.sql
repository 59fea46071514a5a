-- Identity constraints added by hand (POST /v1/entities/{id}/split,
-- POST /v1/entities/merge, POST /v1/identifiers/block; the spec shapes are
-- in migration 034), and what the API reads to build and answer them.

-- name: StitchConstraintInsert
INSERT INTO stitch_constraints (id, kind, spec, created_by, created_at)
VALUES ($1, $2, $3, $4, CAST($5 AS TIMESTAMPTZ))

-- name: StitchConstraintList
-- Newest first.
SELECT id, kind, spec, created_by, created_at FROM stitch_constraints
ORDER BY created_at DESC, id DESC

-- name: StitchConstraintGet
SELECT id, kind, spec, created_by, created_at FROM stitch_constraints WHERE id = $1

-- name: StitchConstraintDelete
DELETE FROM stitch_constraints WHERE id = $1
RETURNING id, kind, spec, created_by, created_at

-- name: StitchConstraintFirstEvents
-- The first event of each entity by (event_time, id): what a merge
-- constraint names, since entity ids change when a component is re-clustered.
SELECT entity_id, id, event_time FROM (
    SELECT m.entity_id, e.id, e.event_time,
           row_number() OVER (PARTITION BY m.entity_id ORDER BY e.event_time, e.id) AS n
    FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
    WHERE /*key m.entity_key IN $1[]*/ m.entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
) f
WHERE n = 1

-- name: StitchConstraintEventEntities
-- The entity each of the events (by id) is in now.
SELECT e.id, m.entity_id FROM event_log e JOIN entity_events m ON m.event_seq = e.seq
WHERE e.id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: StitchConstraintIdentifierEntities
-- The entities that hold the identifiers ($1 categories and $2 values, pairwise),
-- and, with refused true, those with events that carry one but were not
-- joined through it (stitch_refused).
WITH k AS (SELECT unnest(CAST($1 AS TEXT[])) AS category, unnest(CAST($2 AS TEXT[])) AS value)
SELECT i.category, i.value, i.entity_id, false AS refused
FROM identifiers i JOIN k ON i.category = k.category AND i.value = k.value
UNION
SELECT r.category, r.value, r.entity_id, true AS refused
FROM stitch_refused r JOIN k ON r.category = k.category AND r.value = k.value
ORDER BY 1, 2, 4, 3

-- name: StitchConstraintSplits
-- The splits a constraint made (stitch_splits.constraint_id).
SELECT entity_id, parts, split_at FROM stitch_splits WHERE constraint_id = $1
ORDER BY split_at, entity_id
