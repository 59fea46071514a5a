-- A compact key of each value's entity (package attr, run.go): an
-- incremental run finds the old values of its entities by this integer
-- instead of hashing the 32-character ids of every value row, then checks
-- the ids of the few rows found. It is the upper half of DuckDB's hash of
-- the id. key_check holds the hash of a fixed text: a DuckDB whose hash
-- function differs is noticed, and the engine computes the keys again.
ALTER TABLE customer_attributes ADD COLUMN entity_key UINTEGER;
UPDATE customer_attributes SET entity_key = CAST(hash(entity_id) >> 32 AS UINTEGER);
ALTER TABLE attribute_meta ADD COLUMN key_check UBIGINT;
UPDATE attribute_meta SET key_check = hash('weft entity key');
