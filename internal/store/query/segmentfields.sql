-- The copy of the events' payload fields that segment conditions read
-- (package segment, eventfields.go; migration 045). Only backends with
-- store.Capabilities.PayloadFields fill it.

-- name: SegmentFieldTypes
SELECT tkey, source_id, type, filled_to, overflow FROM segment_field_types

-- name: SegmentFieldKeys
SELECT tkey, pos, name, numeric FROM segment_field_keys ORDER BY tkey, pos

-- name: SegmentFieldTypesNew
-- The event types of the log's events after $1.
SELECT DISTINCT source_id, type FROM event_log WHERE seq > $1

-- name: SegmentFieldKeyAdd
INSERT INTO segment_field_keys (tkey, pos, name, numeric) VALUES ($1, $2, $3, true)

-- name: SegmentFieldKeysNotNumeric
-- The keys of type $1 at the positions $2, some of whose copied values do
-- not convert to DECIMAL(18,3) (migration 057): their numbers are no
-- longer read, nor copied.
UPDATE segment_field_keys SET numeric = false WHERE tkey = $1 AND pos IN (SELECT unnest(CAST($2 AS BIGINT[])))

-- name: SegmentFieldTypeAdd
-- A type's first copy: one that raced it and committed first leaves
-- nothing to insert, and this one rolls back.
INSERT INTO segment_field_types (tkey, source_id, type, filled_to, overflow) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tkey) DO NOTHING

-- name: SegmentFieldTypeFilled
-- Only from the filled_to the copy began at, as SegmentValueKeyFilled.
UPDATE segment_field_types SET filled_to = $2, overflow = $3 WHERE tkey = $1 AND filled_to = $4
