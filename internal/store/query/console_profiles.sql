-- What the console's profile pages read beyond the profiles API
-- (package console, profiles.go and identity.go). Every statement is
-- bounded by one entity or a LIMIT.

-- name: ProfileRecent
-- The entities of the events after a seq, the most recent first: a
-- constant range of event_seq (PostgreSQL's primary key; DuckDB's zone
-- maps, entity_events being written in seq order) keeps it from reading
-- the whole table. A subquery for the bound made DuckDB build its join on
-- the whole of entities (5 to 10 s on the 10M store).
SELECT entity_id FROM entity_events
WHERE event_seq > $1
GROUP BY entity_id
ORDER BY max(event_seq) DESC
LIMIT $2

-- name: ProfileByValue
-- The entities holding a value in any of the categories.
SELECT i.category, i.entity_id FROM identifiers i
JOIN (SELECT unnest(CAST($1 AS TEXT[])) AS category) c ON c.category = i.category
WHERE i.value = $2
ORDER BY i.category
LIMIT $3

-- name: ProfileTimeline
-- One entity's events newest first, before a seq (keyset paging).
SELECT e.seq, e.id, e.source_id, e.type, e.version, e.event_time, CAST(e.payload AS TEXT), e.created_at
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
WHERE /*key m.entity_key = $1*/ m.entity_id = $1 AND m.event_seq < $2
ORDER BY m.event_seq DESC
LIMIT $3

-- name: ProfileIdentifierLinks
-- An entity's identifiers with the event that linked each first.
SELECT category, value, first_seq FROM identifiers
WHERE /*key entity_key = $1*/ entity_id = $1
ORDER BY first_seq, category, value
LIMIT $2

-- name: ProfileRefusedSeqs
-- The entity's events that first carried a value the guard rails refused.
SELECT DISTINCT a.first_event_seq FROM stitch_audit a
JOIN entity_events m ON m.event_seq = a.first_event_seq
WHERE /*key m.entity_key = $1*/ m.entity_id = $1
ORDER BY a.first_event_seq
LIMIT $2

-- name: ProfileRefusedAmong
-- ProfileRefusedSeqs among the seqs given: the audit alone, no search of
-- the entity's events.
SELECT DISTINCT first_event_seq FROM stitch_audit
WHERE first_event_seq IN (SELECT unnest(CAST($1 AS BIGINT[])))
ORDER BY first_event_seq
LIMIT $2

-- name: ProfileEventsAt
-- Events by seq, without their payloads.
SELECT seq, id, source_id, type, version, event_time FROM event_log
WHERE seq IN (SELECT unnest(CAST($1 AS BIGINT[])))
ORDER BY seq

-- ProfileEventRows: the rows of event_log the stitching rules read for
-- the graph's events (stitch.Config.IdentifiersSQL's from).
-- name: ProfileEventRows
(SELECT * FROM event_log WHERE seq IN (SELECT unnest(CAST($1 AS BIGINT[]))))

-- name: ProfileLinkStates
-- For identifier values (category, value) with their key hashes $3
-- (store.IdentifierKeyHash): the entity holding each, if any, and why the
-- guard rails refused it, if they did. The held values are narrowed by
-- key_hash first, an integer column (PostgreSQL's index; on DuckDB a scan
-- of integers instead of a join on the strings of every identifier).
WITH k AS (
    SELECT unnest(CAST($1 AS TEXT[])) AS category, unnest(CAST($2 AS TEXT[])) AS value
), held AS (
    SELECT i.category, i.value, i.entity_id FROM identifiers i
    WHERE i.key_hash IN (SELECT unnest(CAST($3 AS BIGINT[])))
), refused AS (
    -- one pass over stitch_audit, which has no index
    SELECT a.category, a.value, min(a.reason) AS reason FROM stitch_audit a
    JOIN k ON a.category = k.category AND a.value = k.value
    GROUP BY a.category, a.value
)
SELECT k.category, k.value, h.entity_id, r.reason
FROM k
LEFT JOIN held h ON h.category = k.category AND h.value = k.value
LEFT JOIN refused r ON r.category = k.category AND r.value = k.value
