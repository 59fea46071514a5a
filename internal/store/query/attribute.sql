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

-- name: AttrMarkCalculatedAll
-- AttrMarkCalculated of a chunk that is every live entity: no join with
-- attr_due (which such a pass leaves empty). One that turned live after
-- the pass counted them changed after $1, so it stays due.
UPDATE entities SET attributes_calculated_at = $1 WHERE merged_into IS NULL

-- name: AttrLiveCount
-- The live entities, counted by a full pass to know whether one chunk
-- holds them all.
SELECT count(*) FROM entities WHERE merged_into IS NULL

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

-- The caches and the state are written by upserts, never by deleting a
-- key and inserting it again: DuckDB refuses to insert a key whose delete
-- an older transaction of another connection (the job runner's poll, an
-- API read) may still see ("Duplicate key"), until that one ends. Only
-- the rows that must go (removed attributes) are deleted.

-- name: AttrStateSave
-- The states of the attributes a run calculated, one statement for all
-- (one upsert each cost 2-5 ms on DuckDB, 45-64 ms for the demo's 23): $1
-- to $9 are arrays, an attribute each; '' stands for a NULL hash, error and
-- failure event, 0 for no cast failures. $10 is the time they finished.
INSERT INTO attribute_state (attribute_id, hash, status, error, entities, value_rows, duration_ms, finished_at, cast_failures, cast_failure_event_id)
SELECT id, NULLIF(h, ''), st, NULLIF(err, ''), n, nr, ms, CAST($10 AS TIMESTAMPTZ), NULLIF(cf, 0), NULLIF(cfe, '')
FROM (SELECT unnest(CAST($1 AS TEXT[])) AS id, unnest(CAST($2 AS TEXT[])) AS h, unnest(CAST($3 AS TEXT[])) AS st,
             unnest(CAST($4 AS TEXT[])) AS err, unnest(CAST($5 AS BIGINT[])) AS n, unnest(CAST($6 AS BIGINT[])) AS nr,
             unnest(CAST($7 AS DOUBLE PRECISION[])) AS ms, unnest(CAST($8 AS BIGINT[])) AS cf, unnest(CAST($9 AS TEXT[])) AS cfe) s
ON CONFLICT (attribute_id) DO UPDATE SET hash = excluded.hash, status = excluded.status, error = excluded.error,
    entities = excluded.entities, value_rows = excluded.value_rows, duration_ms = excluded.duration_ms,
    finished_at = excluded.finished_at, cast_failures = excluded.cast_failures,
    cast_failure_event_id = excluded.cast_failure_event_id

-- name: AttrCustomersSet
-- The customers of attribute $1, $2, counted by the caller: the rows it has
-- just inserted for every entity, of an attribute with one value per entity
-- (a row is a customer).
INSERT INTO attribute_customers_cache (attribute_id, customers_count, modified) VALUES ($1, $2, CAST($3 AS TIMESTAMPTZ))
ON CONFLICT (attribute_id) DO UPDATE SET customers_count = excluded.customers_count, modified = excluded.modified

-- name: AttrCustomersFromEntities
-- The customers of attribute $1 from attr_res, the new values of every
-- entity, of an attribute that may hold several values.
INSERT INTO attribute_customers_cache (attribute_id, customers_count, modified)
SELECT $1, count(DISTINCT entity_id), CAST($2 AS TIMESTAMPTZ) FROM attr_res
ON CONFLICT (attribute_id) DO UPDATE SET customers_count = excluded.customers_count, modified = excluded.modified

-- name: AttrValueCountsClear
DELETE FROM attribute_values_counts WHERE attribute_id = $1

-- name: AttrValueCountsFromRes
INSERT INTO attribute_values_counts (attribute_id, value, count, modified)
SELECT $1, value, count(*), CAST($2 AS TIMESTAMPTZ) FROM attr_res GROUP BY value

-- name: AttrCustomersRecount
-- The customers of the attributes $1 (an array) counted from their values;
-- 0 for one without values.
INSERT INTO attribute_customers_cache (attribute_id, customers_count, modified)
SELECT r.id, coalesce(c.n, 0), CAST($2 AS TIMESTAMPTZ)
FROM (SELECT unnest(CAST($1 AS TEXT[])) AS id) r
LEFT JOIN (SELECT attribute_id, count(DISTINCT entity_id) AS n FROM customer_attributes
           WHERE attribute_id IN (SELECT unnest(CAST($1 AS TEXT[]))) GROUP BY attribute_id) c ON c.attribute_id = r.id
ON CONFLICT (attribute_id) DO UPDATE SET customers_count = excluded.customers_count, modified = excluded.modified

-- name: AttrValueCountsRecountClear
DELETE FROM attribute_values_counts WHERE attribute_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: AttrValueCountsRecount
INSERT INTO attribute_values_counts (attribute_id, value, count, modified)
SELECT attribute_id, value, count(*), CAST($2 AS TIMESTAMPTZ) FROM customer_attributes
WHERE attribute_id IN (SELECT unnest(CAST($1 AS TEXT[]))) GROUP BY attribute_id, value

-- name: AttrCustomersAdd
-- Adds $2 to the customers of attribute $1 (a run's delta).
INSERT INTO attribute_customers_cache (attribute_id, customers_count, modified) VALUES ($1, $2, $3)
ON CONFLICT (attribute_id) DO UPDATE SET customers_count = attribute_customers_cache.customers_count + excluded.customers_count,
    modified = excluded.modified

-- name: AttrCachesStaleGet
-- Whether a run changed values and ended before its caches and state were
-- written: the next run counts the caches again.
SELECT coalesce(caches_stale, FALSE) FROM attribute_meta WHERE id = 1

-- name: AttrCachesStaleSet
UPDATE attribute_meta SET caches_stale = $1 WHERE id = 1

-- The value counts have no key (nothing refuses to insert a pair again):
-- the changed pairs are deleted and inserted with their new counts.

-- name: AttrDeltaDrop
DROP TABLE IF EXISTS attr_delta

-- name: AttrDeltaLoad
-- The new counts of the (attribute $1, value $2) pairs changed by $3.
CREATE TEMP TABLE attr_delta AS
SELECT d.attribute_id, d.value, coalesce(c.count, 0) + d.change AS count
FROM (SELECT unnest(CAST($1 AS TEXT[])) AS attribute_id, unnest(CAST($2 AS TEXT[])) AS value,
             unnest(CAST($3 AS BIGINT[])) AS change) d
LEFT JOIN attribute_values_counts c ON c.attribute_id = d.attribute_id AND c.value = d.value

-- name: AttrValueCountsDeltaClear
DELETE FROM attribute_values_counts WHERE EXISTS (SELECT 1 FROM attr_delta d
    WHERE d.attribute_id = attribute_values_counts.attribute_id AND d.value = attribute_values_counts.value)

-- name: AttrValueCountsDeltaStore
INSERT INTO attribute_values_counts (attribute_id, value, count, modified)
SELECT attribute_id, value, count, CAST($1 AS TIMESTAMPTZ) FROM attr_delta WHERE count > 0
