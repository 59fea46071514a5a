-- The compact entity key of migration 015 on the two tables read by entity
-- id most (package stitch's re-clustering and merges, the profile reads,
-- the attribute engine's incremental copies): an integer scan narrows the
-- rows, and only theirs have their 32-character ids compared. Every writer
-- sets it (store.Capabilities.EntityKey); key_check (015) covers these
-- columns too (store.CheckEntityKeys). Filled once here: about 1.3 s on
-- a 10M-event store.
ALTER TABLE entity_events ADD COLUMN entity_key UINTEGER;
UPDATE entity_events SET entity_key = CAST(hash(entity_id) >> 32 AS UINTEGER);
ALTER TABLE identifiers ADD COLUMN entity_key UINTEGER;
UPDATE identifiers SET entity_key = CAST(hash(entity_id) >> 32 AS UINTEGER);
