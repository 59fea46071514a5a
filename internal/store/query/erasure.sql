-- Erasure and retention (package erasure). Statements over erase_set (the
-- entities of the erasures being finished) and erase_chunk (the part of
-- them one transaction deletes): temporary tables of the erasure's
-- connection.

-- name: ErasureSalt
SELECT coalesce(salt, '') FROM erasure_state WHERE id = 1

-- name: ErasureSaltSet
UPDATE erasure_state SET salt = $1 WHERE id = 1 AND salt IS NULL

-- name: ErasureSuppressionState
-- The salt ('' before the first erasure) and the list's version.
SELECT coalesce(salt, ''), coalesce(list_version, 0) FROM erasure_state WHERE id = 1

-- name: ErasureListVersion
SELECT coalesce(list_version, 0) FROM erasure_state WHERE id = 1

-- name: ErasureListMoved
-- Every change of suppressed_identifiers moves the version (package
-- erasure, Suppressor), in the transaction of the change.
UPDATE erasure_state SET list_version = coalesce(list_version, 0) + 1 WHERE id = 1

-- name: ErasureSuppressedHashes
SELECT hash FROM suppressed_identifiers

-- name: ErasurePendingAdd
INSERT INTO erasure_pending (entity_id, requested_at)
SELECT DISTINCT id, CAST($2 AS TIMESTAMPTZ) FROM (SELECT unnest(CAST($1 AS TEXT[])) AS id) x
WHERE id NOT IN (SELECT entity_id FROM erasure_pending)

-- name: ErasureSetCreate
CREATE TEMP TABLE IF NOT EXISTS erase_set (entity_id TEXT NOT NULL)

-- name: ErasureChunkCreate
CREATE TEMP TABLE IF NOT EXISTS erase_chunk (entity_id TEXT NOT NULL)

-- name: ErasureSetClear
DELETE FROM erase_set

-- name: ErasureChunkClear
DELETE FROM erase_chunk

-- name: ErasureSetLoad
INSERT INTO erase_set SELECT DISTINCT entity_id FROM erasure_pending

-- name: ErasureSetExpand
-- One step of the closure: the entities the set's entities were merged
-- into, and those merged into them. Repeated until it adds nothing.
INSERT INTO erase_set
SELECT DISTINCT id FROM (
    SELECT merged_into AS id FROM entities WHERE merged_into IS NOT NULL AND id IN (SELECT entity_id FROM erase_set)
    UNION ALL
    SELECT id FROM entities WHERE merged_into IN (SELECT entity_id FROM erase_set)
) x
WHERE id NOT IN (SELECT entity_id FROM erase_set)

-- name: ErasurePendingSave
-- The closure is recorded before anything is deleted: once a merged
-- entity's row is gone, its survivor could no longer be found from it.
INSERT INTO erasure_pending (entity_id, requested_at)
SELECT entity_id, CAST($1 AS TIMESTAMPTZ) FROM erase_set
WHERE entity_id NOT IN (SELECT entity_id FROM erasure_pending)

-- name: ErasureSetCount
SELECT count(*) FROM erase_set

-- name: ErasureChunkNext
INSERT INTO erase_chunk
SELECT entity_id FROM erase_set WHERE entity_id > $1 ORDER BY entity_id LIMIT $2

-- name: ErasureChunkMax
SELECT coalesce(max(entity_id), '') FROM erase_chunk

-- name: ErasureEntitiesCount
SELECT count(*) FROM entities WHERE id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureSuppress
-- $1 is the salt: only the hash of salt, category and value is kept.
INSERT INTO suppressed_identifiers (hash, category, created_at)
SELECT h, min(category), CAST($2 AS TIMESTAMPTZ) FROM (
    SELECT weft_sha256(CAST($1 AS TEXT) || category || ':' || value) AS h, category
    FROM identifiers WHERE entity_id IN (SELECT entity_id FROM erase_chunk)
) x
WHERE h NOT IN (SELECT hash FROM suppressed_identifiers)
GROUP BY h

-- name: ErasureCastFailures
UPDATE attribute_state SET cast_failure_event_id = NULL
WHERE cast_failure_event_id IN (SELECT e.id FROM event_log e JOIN entity_events m ON m.event_seq = e.seq
                                WHERE m.entity_id IN (SELECT entity_id FROM erase_chunk))

-- name: ErasureValueCounts
-- The caches count values down as the attribute engine does (attr,
-- cache.go): one per value row, and one customer per entity with a value.
UPDATE attribute_values_counts SET count = attribute_values_counts.count - d.n, modified = CAST($1 AS TIMESTAMPTZ)
FROM (SELECT attribute_id, value, count(*) AS n FROM customer_attributes
      WHERE entity_id IN (SELECT entity_id FROM erase_chunk) GROUP BY attribute_id, value) d
WHERE d.attribute_id = attribute_values_counts.attribute_id AND d.value = attribute_values_counts.value

-- name: ErasureValueCountsZero
DELETE FROM attribute_values_counts WHERE count <= 0

-- name: ErasureCustomerCounts
UPDATE attribute_customers_cache SET customers_count = attribute_customers_cache.customers_count - d.n, modified = CAST($1 AS TIMESTAMPTZ)
FROM (SELECT attribute_id, count(DISTINCT entity_id) AS n FROM customer_attributes
      WHERE entity_id IN (SELECT entity_id FROM erase_chunk) GROUP BY attribute_id) d
WHERE d.attribute_id = attribute_customers_cache.attribute_id

-- name: ErasureAttributeValues
DELETE FROM customer_attributes WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasurePropertyCounts
UPDATE plugin_properties SET entities = plugin_properties.entities - d.n
FROM (SELECT property_id, count(DISTINCT entity_id) AS n FROM plugin_property_values
      WHERE entity_id IN (SELECT entity_id FROM erase_chunk) GROUP BY property_id) d
WHERE d.property_id = plugin_properties.id

-- name: ErasurePropertyValues
DELETE FROM plugin_property_values WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureSegmentMembers
DELETE FROM segment_members WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureSegmentChanges
-- Changes no destination has sent yet go too: an erased person is sent
-- nowhere.
DELETE FROM segment_changes WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasurePropertyStaging
DELETE FROM plugin_property_staging WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureDatasetUsers
DELETE FROM plugin_dataset_users WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureDatasetValues
DELETE FROM plugin_dataset_values WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureEventCount
SELECT count(*), coalesce(sum(CASE WHEN source_id = 'delivery' THEN 1 ELSE 0 END), 0) FROM event_log
WHERE seq IN (SELECT event_seq FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk))

-- name: ErasureAudit
-- What stitching refused (blocked values, max_per_entity) from their events.
DELETE FROM stitch_audit
WHERE first_event_seq IN (SELECT event_seq FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk))

-- name: ErasureRefused
-- The links stitching refused on their events (they hold identifier values).
DELETE FROM stitch_refused
WHERE entity_id IN (SELECT entity_id FROM erase_chunk)
   OR event_seq IN (SELECT event_seq FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk))

-- name: ErasureSplits
-- Their splits: as the entity or a part, or revealed by one of their events.
DELETE FROM stitch_splits
WHERE entity_id IN (SELECT entity_id FROM erase_chunk)
   OR event_seq IN (SELECT event_seq FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk))
   OR EXISTS (SELECT 1 FROM erase_chunk c WHERE strpos(stitch_splits.parts, c.entity_id) > 0)

-- name: ErasureConstraints
-- The constraints that name them: an entity, one of their events, or an
-- identifier they hold (a block of their e-mail).
DELETE FROM stitch_constraints
WHERE EXISTS (SELECT 1 FROM erase_chunk c WHERE strpos(stitch_constraints.spec, c.entity_id) > 0)
   OR EXISTS (SELECT 1 FROM identifiers i WHERE i.entity_id IN (SELECT entity_id FROM erase_chunk)
              AND strpos(stitch_constraints.spec, i.value) > 0)
   OR EXISTS (SELECT 1 FROM event_log e JOIN entity_events m ON m.event_seq = e.seq
              WHERE m.entity_id IN (SELECT entity_id FROM erase_chunk) AND strpos(stitch_constraints.spec, e.id) > 0)

-- name: ErasureSegmentEventValues
-- The segments' per-event values of their events (segment_event_values).
DELETE FROM segment_event_values
WHERE seq IN (SELECT event_seq FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk))

-- name: ErasureSegmentEventFields
-- The copy of their events' payload fields (segment_event_fields).
DELETE FROM segment_event_fields
WHERE seq IN (SELECT event_seq FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk))

-- name: ErasureEvents
DELETE FROM event_log
WHERE seq IN (SELECT event_seq FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk))

-- name: ErasureEntityEvents
DELETE FROM entity_events WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureIdentifiers
DELETE FROM identifiers WHERE entity_id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureMerges
DELETE FROM stitch_merges
WHERE survivor IN (SELECT entity_id FROM erase_chunk) OR loser IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureEntities
DELETE FROM entities WHERE id IN (SELECT entity_id FROM erase_chunk)

-- name: ErasureStitchToken
-- A new pass_token: a stitching engine's resident index, which still
-- holds the erased identifiers, is reloaded before its next pass.
UPDATE stitch_state SET pass_token = $1 WHERE id = 1

-- name: ErasurePendingDone
DELETE FROM erasure_pending WHERE entity_id IN (SELECT entity_id FROM erase_set)

-- name: ErasureWatermark
SELECT watermark FROM stitch_state WHERE id = 1

-- name: RetentionBounds
-- $1 the cut-off, $2 the source or '*', $3 the sources named by other
-- entries (for '*').
SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM event_log
WHERE event_time < CAST($1 AS TIMESTAMPTZ)
  AND (source_id = $2 OR ($2 = '*' AND source_id NOT IN (SELECT unnest(CAST($3 AS TEXT[])))))

-- name: RetentionSeqsCreate
CREATE TEMP TABLE IF NOT EXISTS retain_seqs (seq BIGINT NOT NULL)

-- name: RetentionSeqsClear
DELETE FROM retain_seqs

-- name: RetentionSeqsLoad
-- The window ($4, $5] of the events older than the cut-off.
INSERT INTO retain_seqs
SELECT seq FROM event_log
WHERE seq > $4 AND seq <= $5 AND event_time < CAST($1 AS TIMESTAMPTZ)
  AND (source_id = $2 OR ($2 = '*' AND source_id NOT IN (SELECT unnest(CAST($3 AS TEXT[])))))

-- name: RetentionMarkEntities
-- Their entities' attributes are due again (modified after calculated).
UPDATE entities SET modified_at = CAST($1 AS TIMESTAMPTZ)
WHERE id IN (SELECT entity_id FROM entity_events WHERE event_seq IN (SELECT seq FROM retain_seqs))

-- name: RetentionCastFailures
UPDATE attribute_state SET cast_failure_event_id = NULL
WHERE cast_failure_event_id IN (SELECT id FROM event_log WHERE seq IN (SELECT seq FROM retain_seqs))

-- name: RetentionEntityEvents
DELETE FROM entity_events WHERE event_seq IN (SELECT seq FROM retain_seqs)

-- name: RetentionSegmentEventValues
DELETE FROM segment_event_values WHERE seq IN (SELECT seq FROM retain_seqs)

-- name: RetentionSegmentEventFields
DELETE FROM segment_event_fields WHERE seq IN (SELECT seq FROM retain_seqs)

-- name: RetentionEvents
DELETE FROM event_log WHERE seq IN (SELECT seq FROM retain_seqs)

-- name: ErasureScratchDrop
-- The erasure's scratch tables, emptied: they held entity ids.
DROP TABLE IF EXISTS erase_set

-- name: ErasureChunkDrop
DROP TABLE IF EXISTS erase_chunk

-- name: RetentionSeqsDrop
DROP TABLE IF EXISTS retain_seqs
