-- Calculated attributes, as the profiles and attributes APIs read them.

-- name: AttributeValuesOf
SELECT entity_id, attribute_id, value FROM customer_attributes
WHERE entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
ORDER BY entity_id, attribute_id, value

-- name: AttributeStates
SELECT s.attribute_id, s.status, coalesce(s.error, ''), s.entities, s.value_rows, s.duration_ms, s.finished_at,
       coalesce(c.customers_count, 0), coalesce(s.cast_failures, 0), coalesce(s.cast_failure_event_id, '')
FROM attribute_state s LEFT JOIN attribute_customers_cache c ON c.attribute_id = s.attribute_id
ORDER BY s.attribute_id

-- name: AttributeValueCounts
SELECT value, count FROM attribute_values_counts WHERE attribute_id = $1 ORDER BY count DESC, value LIMIT $2

-- name: AttributeCustomers
SELECT coalesce(max(customers_count), 0) FROM attribute_customers_cache WHERE attribute_id = $1

-- The fixed statements of the attribute engine (package attr); those built
-- from the definitions are assembled there. attr_due is the temporary
-- table of a run's connection: the chunk of entities being calculated.

-- name: AttrContextGet
SELECT query, modified, value FROM context WHERE key = $1

-- name: AttrContextInsert
INSERT INTO context (key, query) VALUES ($1, $2)

-- name: AttrContextError
UPDATE context SET query = $2, error = $3 WHERE key = $1

-- name: AttrContextStore
UPDATE context SET query = $2, value = $3, modified = $4, error = NULL WHERE key = $1

-- name: AttrDueCreate
CREATE TEMP TABLE IF NOT EXISTS attr_due (entity_id TEXT NOT NULL)

-- name: AttrDueClear
DELETE FROM attr_due

-- name: AttrDueAnalyze
ANALYZE attr_due

-- name: AttrDueMax
SELECT max(entity_id) FROM attr_due

-- name: AttrMarkCalculated
UPDATE entities SET attributes_calculated_at = $1 WHERE id IN (SELECT entity_id FROM attr_due)

-- name: AttrAnyCalculated
SELECT 1 FROM entities WHERE attributes_calculated_at IS NOT NULL LIMIT 1

-- name: AttrStateHashes
SELECT attribute_id, coalesce(hash, '') FROM attribute_state

-- name: AttrMergedValuesDelete
-- The values of entities merged into others since their last calculation,
-- as the caches count them down.
DELETE FROM customer_attributes WHERE entity_id IN (SELECT id FROM entities
			WHERE merged_into IS NOT NULL AND (attributes_calculated_at IS NULL OR modified_at > attributes_calculated_at))
			RETURNING attribute_id, entity_id, value

-- name: AttrEventsDrop
DROP TABLE IF EXISTS attr_events

-- name: AttrKeyCheck
-- Whether the entity keys were computed with this DuckDB's hash (run only
-- where store.Capabilities.EntityKey is not empty).
SELECT coalesce(key_check = hash('weft entity key'), false) FROM attribute_meta WHERE id = 1

-- name: AttrKeyCheckSet
UPDATE attribute_meta SET key_check = hash('weft entity key') WHERE id = 1

-- name: AttrViewFingerprint
SELECT view_fingerprint FROM attribute_meta WHERE id = 1

-- name: AttrViewFingerprintSet
UPDATE attribute_meta SET view_fingerprint = $1 WHERE id = 1

-- name: AttrViewDrop
DROP VIEW IF EXISTS pivoted_customer_attributes
