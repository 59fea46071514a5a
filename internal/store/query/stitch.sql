-- Stitching state and the fixed statements of package stitch; statements
-- built from the stitching rules are assembled there.

-- name: StitchWatermark
SELECT watermark FROM stitch_state WHERE id = 1

-- name: StitchWatermarkToken
SELECT watermark, pass_token FROM stitch_state WHERE id = 1

-- name: StitchWatermarkMove
UPDATE stitch_state SET watermark = $1, updated_at = CAST($3 AS TIMESTAMPTZ), pass_token = $4
		WHERE id = 1 AND watermark = $2

-- name: StitchStateReset
-- A rebuild starts: until it has ended and the pipeline records the rules
-- it ran with, the entities are built under no rules, so that a rebuild a
-- crash interrupted is started again.
UPDATE stitch_state SET watermark = 0, updated_at = NULL, pass_token = $1, rules_hash = NULL WHERE id = 1

-- name: StitchLogEnd
-- The last seq of the log when a run starts: the run stitches up to it.
SELECT coalesce(max(seq), 0) FROM event_log

-- name: StitchBatchBounds
SELECT count(*), max(seq) FROM event_log WHERE seq > $1 AND seq <= $2

-- name: StitchBatchBoundsSparse
SELECT count(*), max(seq) FROM (SELECT seq FROM event_log WHERE seq > $1 ORDER BY seq LIMIT $2) s

-- name: StitchRulesHashGet
SELECT rules_hash FROM stitch_state WHERE id = 1

-- name: StitchRulesHashSet
UPDATE stitch_state SET rules_hash = $1 WHERE id = 1

-- name: StitchResetEntityEvents
DELETE FROM entity_events

-- name: StitchResetIdentifiers
DELETE FROM identifiers

-- name: StitchResetEntities
DELETE FROM entities

-- name: StitchResetMerges
DELETE FROM stitch_merges

-- name: StitchResetAudit
DELETE FROM stitch_audit

-- name: StitchingLockShared
-- An erasure and stitching passes are serialized in process by
-- DB.LockStitching; PostgreSQL overrides these five to serialize them
-- across processes too.
SELECT 1

-- name: StitchingUnlockShared
SELECT 1

-- name: StitchingTryLockShared
SELECT TRUE

-- name: StitchingLock
SELECT 1

-- name: StitchingUnlock
SELECT 1

-- name: StitchMappingsUnlikeLog
-- The event mappings whose source_id, type or event_time differ from
-- their event's in the log, or whose event is gone: none, as every writer
-- of entity_events takes them from the log (tests check it).
SELECT count(*) FROM entity_events m LEFT JOIN event_log e ON e.seq = m.event_seq
WHERE e.seq IS NULL OR m.source_id IS DISTINCT FROM e.source_id OR m.type IS DISTINCT FROM e.type
   OR m.event_time IS DISTINCT FROM e.event_time
