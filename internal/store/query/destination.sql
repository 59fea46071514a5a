-- Destinations (package destination): cursors, the batch in flight, dead
-- letters, changed profiles.

-- name: DestinationCursorGet
SELECT coalesce(max(segment_seq), 0) FROM destination_cursors WHERE destination_id = $1

-- name: DestinationCursorSet
INSERT INTO destination_cursors (destination_id, segment_seq, updated_at) VALUES ($1, $2, CAST($3 AS TIMESTAMPTZ))
ON CONFLICT (destination_id) DO UPDATE SET segment_seq = excluded.segment_seq, updated_at = excluded.updated_at

-- name: DestinationPosition
-- The cursor (0 before the first batch) and the end of the batch in flight
-- (NULL: none), read at once.
SELECT (SELECT coalesce(max(segment_seq), 0) FROM destination_cursors WHERE destination_id = $1),
       (SELECT max(pending_to) FROM destination_state WHERE destination_id = $1)

-- name: DestinationCursorMove
-- The cursor of a destination that has one: on DuckDB a plain update costs
-- a third of the upsert DestinationCursorSet.
UPDATE destination_cursors SET segment_seq = $2, updated_at = CAST($3 AS TIMESTAMPTZ) WHERE destination_id = $1

-- name: DestinationPendingSet
-- $2 NULL: no batch in flight.
INSERT INTO destination_state (destination_id, pending_to, updated_at) VALUES ($1, CAST($2 AS BIGINT), CAST($3 AS TIMESTAMPTZ))
ON CONFLICT (destination_id) DO UPDATE SET pending_to = excluded.pending_to, updated_at = excluded.updated_at

-- name: DestinationChangesAfter
-- The first $3 changes of the segments $2 after the cursor $1.
SELECT seq, segment_id, entity_id, change, changed_at FROM segment_changes
WHERE seq > $1 AND segment_id IN (SELECT unnest(CAST($2 AS TEXT[])))
ORDER BY seq LIMIT $3

-- name: DestinationChanges
SELECT seq, segment_id, entity_id, change, changed_at FROM segment_changes
WHERE seq > $1 AND seq <= $2 AND segment_id IN (SELECT unnest(CAST($3 AS TEXT[])))
ORDER BY seq

-- name: DestinationChangesPending
SELECT count(*) FROM segment_changes
WHERE seq > $1 AND segment_id IN (SELECT unnest(CAST($2 AS TEXT[])))

-- name: DestinationConsenting
-- Of the entities $3, those with consent (weft_consenting, package consent).
SELECT entity_id FROM weft_consenting($1, CAST($2 AS BOOLEAN))
WHERE entity_id IN (SELECT unnest(CAST($3 AS TEXT[])))

-- name: DestinationConsentingChanges
-- Of the entities of the changes of segments $5 in the seq range ($3, $4],
-- those with consent: the ids are not sent back to the engine.
SELECT entity_id FROM weft_consenting($1, CAST($2 AS BOOLEAN))
WHERE entity_id IN (SELECT entity_id FROM segment_changes
    WHERE seq > $3 AND seq <= $4 AND segment_id IN (SELECT unnest(CAST($5 AS TEXT[]))))

-- name: DestinationIdentifiersOfChanges
-- DestinationIdentifiersOf for the entities of the changes of segments $3
-- in the seq range ($1, $2].
SELECT entity_id, category, value FROM identifiers
WHERE entity_id IN (SELECT entity_id FROM segment_changes
    WHERE seq > $1 AND seq <= $2 AND segment_id IN (SELECT unnest(CAST($3 AS TEXT[]))))
  AND category IN (SELECT unnest(CAST($4 AS TEXT[])))
ORDER BY entity_id, category, first_seq, value

-- name: DestinationAttributesOfChanges
SELECT entity_id, attribute_id, value FROM customer_attributes
WHERE entity_id IN (SELECT entity_id FROM segment_changes
    WHERE seq > $1 AND seq <= $2 AND segment_id IN (SELECT unnest(CAST($3 AS TEXT[]))))
  AND attribute_id IN (SELECT unnest(CAST($4 AS TEXT[])))
ORDER BY entity_id, attribute_id, value

-- name: DestinationIdentifiersOf
SELECT entity_id, category, value FROM identifiers
WHERE entity_id IN (SELECT unnest(CAST($1 AS TEXT[]))) AND category IN (SELECT unnest(CAST($2 AS TEXT[])))
ORDER BY entity_id, category, first_seq, value

-- name: DestinationAttributesOf
SELECT entity_id, attribute_id, value FROM customer_attributes
WHERE entity_id IN (SELECT unnest(CAST($1 AS TEXT[]))) AND attribute_id IN (SELECT unnest(CAST($2 AS TEXT[])))
ORDER BY entity_id, attribute_id, value

-- name: DestinationDeadLetterInsert
INSERT INTO destination_dead_letters (destination_id, idempotency_key, items, request, status, answer, created_at)
VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS TIMESTAMPTZ))

-- name: DestinationDeadLetterList
SELECT id, idempotency_key, items, request, status, answer, created_at, replay_requested_at, replayed_at
FROM destination_dead_letters WHERE destination_id = $1 AND id > $2
ORDER BY id LIMIT $3

-- name: DestinationDeadLetterCounts
-- Dead letters not delivered by a replay, per destination.
SELECT destination_id, count(*) FROM destination_dead_letters WHERE replayed_at IS NULL GROUP BY destination_id

-- name: DestinationDeadLetterReplayAll
UPDATE destination_dead_letters SET replay_requested_at = CAST($2 AS TIMESTAMPTZ)
WHERE destination_id = $1 AND replayed_at IS NULL

-- name: DestinationDeadLetterReplayIDs
UPDATE destination_dead_letters SET replay_requested_at = CAST($2 AS TIMESTAMPTZ)
WHERE destination_id = $1 AND replayed_at IS NULL AND id IN (SELECT unnest(CAST($3 AS BIGINT[])))

-- name: DestinationDeadLetterNextReplay
SELECT id, idempotency_key, items, request FROM destination_dead_letters
WHERE destination_id = $1 AND replay_requested_at IS NOT NULL AND replayed_at IS NULL
ORDER BY id LIMIT 1

-- name: DestinationDeadLetterReplayed
-- A replay's end: delivered ($3 set) or refused again (its answer kept).
UPDATE destination_dead_letters SET replay_requested_at = NULL, replayed_at = CAST($3 AS TIMESTAMPTZ), status = $4, answer = $5
WHERE id = $1 AND destination_id = $2

-- name: DestinationProfilesQueue
-- The live profiles ($4: with consent, unless '') whose chosen attributes
-- $2 and identifier categories $3 hash otherwise than as last sent to $1.
INSERT INTO destination_profile_queue (destination_id, entity_id, hash)
WITH a AS (
    SELECT entity_id, string_agg(attribute_id || chr(31) || value, chr(30) ORDER BY attribute_id, value) AS v
    FROM customer_attributes WHERE attribute_id IN (SELECT unnest(CAST($2 AS TEXT[])))
    GROUP BY entity_id
), i AS (
    SELECT entity_id, string_agg(category || chr(31) || value, chr(30) ORDER BY category, value) AS v
    FROM identifiers WHERE category IN (SELECT unnest(CAST($3 AS TEXT[])))
    GROUP BY entity_id
), cur AS (
    SELECT e.id AS entity_id, md5(coalesce(a.v, '') || chr(29) || coalesce(i.v, '')) AS hash
    FROM entities e LEFT JOIN a ON a.entity_id = e.id LEFT JOIN i ON i.entity_id = e.id
    WHERE e.merged_into IS NULL AND (a.v IS NOT NULL OR i.v IS NOT NULL)
      AND (CAST($4 AS TEXT) = '' OR e.id IN (SELECT entity_id FROM weft_consenting(CAST($4 AS TEXT), FALSE)))
)
SELECT CAST($1 AS TEXT), c.entity_id, c.hash FROM cur c
LEFT JOIN destination_profiles p ON p.destination_id = CAST($1 AS TEXT) AND p.entity_id = c.entity_id
WHERE p.hash IS NULL OR p.hash <> c.hash
ON CONFLICT (destination_id, entity_id) DO UPDATE SET hash = excluded.hash

-- name: DestinationProfileBatch
SELECT entity_id, hash FROM destination_profile_queue WHERE destination_id = $1 ORDER BY entity_id LIMIT $2

-- name: DestinationProfilesPending
SELECT count(*) FROM destination_profile_queue WHERE destination_id = $1

-- name: DestinationProfilesSent
INSERT INTO destination_profiles (destination_id, entity_id, hash, sent_at)
SELECT destination_id, entity_id, hash, CAST($3 AS TIMESTAMPTZ) FROM destination_profile_queue
WHERE destination_id = $1 AND entity_id IN (SELECT unnest(CAST($2 AS TEXT[])))
ON CONFLICT (destination_id, entity_id) DO UPDATE SET hash = excluded.hash, sent_at = excluded.sent_at

-- name: DestinationProfilesDequeue
DELETE FROM destination_profile_queue WHERE destination_id = $1 AND entity_id IN (SELECT unnest(CAST($2 AS TEXT[])))
