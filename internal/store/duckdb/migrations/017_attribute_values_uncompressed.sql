-- The attribute values' entity ids are stored uncompressed (package attr,
-- run.go). They are 32 random hex characters: FSST, the only compression
-- that applies to them, saves about half their space but costs most of the
-- time of writing the value table (a full calculation writes every row
-- again), and each lookup of an entity's values must decompress the column.
-- Uncompressed, inserting is about twice as fast and a scan for one entity
-- about five times, for about 16 more bytes per value row. DuckDB cannot
-- change a column's compression in place: the table is copied.
CREATE TABLE customer_attributes_018 (
    entity_id     TEXT NOT NULL USING COMPRESSION 'uncompressed',
    attribute_id  TEXT NOT NULL,
    value         TEXT NOT NULL,
    calculated_at TIMESTAMPTZ NOT NULL,
    entity_key    UINTEGER
);
INSERT INTO customer_attributes_018 SELECT entity_id, attribute_id, value, calculated_at, entity_key FROM customer_attributes;
DROP TABLE customer_attributes;
ALTER TABLE customer_attributes_018 RENAME TO customer_attributes;
