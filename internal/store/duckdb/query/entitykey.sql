-- DuckDB overrides of the reads by entity id of entity_events and
-- identifiers (query/profile.sql, console_profiles.sql, identitygraph.sql,
-- customer.sql, stitch_constraints.sql): as the shared queries, narrowed
-- first by the integer entity_key of the ids (migration 038; the key
-- expression is the backend's EntityKey, written over the parameter here).
-- A scan then compares the 32-character ids of the rows of those keys
-- only, not of every row of the table. Every writer of the two tables sets
-- entity_key (store.Capabilities.EntityKey).

-- name: EntityIdentifiers
SELECT entity_id, category, value, first_seq FROM identifiers
WHERE entity_key IN (SELECT CAST(hash(x) >> 32 AS UINTEGER) FROM unnest(CAST($1 AS TEXT[])) AS ids(x))
  AND entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
ORDER BY entity_id, category, first_seq, value

-- name: EntityEventStats
SELECT m.entity_id, count(*), min(e.event_time), max(e.event_time)
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
WHERE m.entity_key IN (SELECT CAST(hash(x) >> 32 AS UINTEGER) FROM unnest(CAST($1 AS TEXT[])) AS ids(x))
  AND m.entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
GROUP BY m.entity_id

-- name: EntityEvents
SELECT e.seq, e.id, e.source_id, e.type, e.version, e.event_time, CAST(e.payload AS TEXT), e.created_at
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
WHERE m.entity_key = CAST(hash(CAST($1 AS TEXT)) >> 32 AS UINTEGER) AND m.entity_id = $1 AND m.event_seq > $2
ORDER BY e.seq
LIMIT $3

-- name: ProfileTimeline
SELECT e.seq, e.id, e.source_id, e.type, e.version, e.event_time, CAST(e.payload AS TEXT), e.created_at
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
WHERE m.entity_key = CAST(hash(CAST($1 AS TEXT)) >> 32 AS UINTEGER) AND m.entity_id = $1 AND m.event_seq < $2
ORDER BY m.event_seq DESC
LIMIT $3

-- name: ProfileIdentifierLinks
SELECT category, value, first_seq FROM identifiers
WHERE entity_key = CAST(hash(CAST($1 AS TEXT)) >> 32 AS UINTEGER) AND entity_id = $1
ORDER BY first_seq, category, value
LIMIT $2

-- name: ProfileRefusedSeqs
SELECT DISTINCT a.first_event_seq FROM stitch_audit a
JOIN entity_events m ON m.event_seq = a.first_event_seq
WHERE m.entity_key = CAST(hash(CAST($1 AS TEXT)) >> 32 AS UINTEGER) AND m.entity_id = $1
ORDER BY a.first_event_seq
LIMIT $2

-- name: GraphEvents
(SELECT * FROM event_log
 WHERE seq IN (SELECT event_seq FROM entity_events
               WHERE entity_key = CAST(hash(CAST($1 AS TEXT)) >> 32 AS UINTEGER) AND entity_id = $1
               ORDER BY event_seq LIMIT $2))

-- name: CustomerEventsNewest
SELECT entity_id, seq, id, source_id, type, version, event_time, payload, created_at
FROM (
    SELECT m.entity_id, e.seq, e.id, e.source_id, e.type, e.version, e.event_time,
           CAST(e.payload AS TEXT) AS payload, e.created_at,
           row_number() OVER (PARTITION BY m.entity_id ORDER BY m.event_seq DESC) AS n
    FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
    WHERE m.entity_key IN (SELECT CAST(hash(x) >> 32 AS UINTEGER) FROM unnest(CAST($1 AS TEXT[])) AS ids(x))
      AND m.entity_id IN (SELECT unnest(CAST($1 AS TEXT[]))) AND m.event_seq < $2
) x
WHERE n <= $3
ORDER BY entity_id, seq DESC

-- name: StitchConstraintFirstEvents
SELECT entity_id, id, event_time FROM (
    SELECT m.entity_id, e.id, e.event_time,
           row_number() OVER (PARTITION BY m.entity_id ORDER BY e.event_time, e.id) AS n
    FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
    WHERE m.entity_key IN (SELECT CAST(hash(x) >> 32 AS UINTEGER) FROM unnest(CAST($1 AS TEXT[])) AS ids(x))
      AND m.entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
) f
WHERE n = 1
