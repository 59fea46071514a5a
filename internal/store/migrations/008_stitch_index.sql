-- What the stitcher's in-memory index needs (package stitch, index.go).
-- Entities stitched before this migration have no key hashes and counts,
-- so the stitching state is reset: the next pass rebuilds it from the log
-- (and the attributes of the rebuilt entities are calculated again).

-- A random number each pass writes: the index knows which state it reflects.
ALTER TABLE stitch_state ADD COLUMN pass_token BIGINT DEFAULT 0;
UPDATE stitch_state SET pass_token = 0, watermark = 0, updated_at = NULL, rules_hash = NULL;

-- Identifier values per category, as a JSON object ({"email": 2}): what the
-- max_per_entity guard rail needs, kept by the stitcher.
ALTER TABLE entities ADD COLUMN identifier_counts TEXT DEFAULT '{}';

-- FNV-1a of category, a zero byte and value (stitch.keyHash): one integer
-- column to narrow look-ups by.
ALTER TABLE identifiers ADD COLUMN key_hash BIGINT;

DELETE FROM entity_events;
DELETE FROM identifiers;
DELETE FROM entities;
DELETE FROM stitch_merges;
DELETE FROM stitch_audit;
DELETE FROM customer_attributes;
DELETE FROM attribute_state;
