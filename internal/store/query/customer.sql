-- Customers as GraphQL reads them (package customer): pages of live
-- entities, the members of a segment, identifiers looked up in bulk and
-- the newest events of many entities at once, so that a page of customers
-- costs one query per part, not one per customer.

-- name: CustomerSegmentPage
-- A page of the live members of segment $1 after id $2, by id.
SELECT e.id, e.created_at, e.modified_at
FROM segment_members m JOIN entities e ON e.id = m.entity_id
WHERE m.segment_id = $1 AND e.merged_into IS NULL AND e.id > $2
ORDER BY e.id
LIMIT $3

-- name: CustomerByIdentifiers
-- The entities holding the values $2 of category $1 (maybe merged since).
SELECT value, entity_id FROM identifiers
WHERE category = $1 AND value IN (SELECT unnest(CAST($2 AS TEXT[])))

-- name: CustomerMergedInto
-- Where the entities $1 were merged into, for those merged.
SELECT id, merged_into FROM entities
WHERE id IN (SELECT unnest(CAST($1 AS TEXT[]))) AND merged_into IS NOT NULL

-- name: CustomerEventsNewest
-- The newest $3 events before seq $2 of each entity of $1, newest first.
SELECT entity_id, seq, id, source_id, type, version, event_time, payload, created_at
FROM (
    SELECT m.entity_id, e.seq, e.id, e.source_id, e.type, e.version, e.event_time,
           CAST(e.payload AS TEXT) AS payload, e.created_at,
           row_number() OVER (PARTITION BY m.entity_id ORDER BY m.event_seq DESC) AS n
    FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
    WHERE /*key m.entity_key IN $1[]*/ m.entity_id IN (SELECT unnest(CAST($1 AS TEXT[]))) AND m.event_seq < $2
) x
WHERE n <= $3
ORDER BY entity_id, seq DESC
