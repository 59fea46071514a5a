-- The attribute values are stored uncompressed too, as their entity ids
-- are since migration 017. A full calculation writes every value row
-- again, and DuckDB compresses a column as it writes it: for the values
-- (timestamps, urls, names, numbers as text) it tries dictionary and FSST
-- encodings, which cost about a fifth of the time of the insert. Measured
-- on the 2M-event demo store: inserting its 4.87M value rows, attribute
-- by attribute, 5.5 s with the value column compressed against 4.6 s
-- uncompressed (CPU 5.3 against 4.1 s). Scans of the column (an entity's
-- values, the incremental run's old values) decode nothing either. The
-- cost is space: the 2M-event store's file uses 62 MiB more (4.87M value
-- rows), the 10M-event store's 347 MiB more (24.3M rows). DuckDB cannot
-- change a column's compression in place: the table is copied (10 s of
-- wall time and 6 s of CPU for the 10M-event store, at load 4-6).
CREATE TABLE customer_attributes_050 (
    entity_id     TEXT NOT NULL USING COMPRESSION 'uncompressed',
    attribute_id  TEXT NOT NULL,
    value         TEXT NOT NULL USING COMPRESSION 'uncompressed',
    calculated_at TIMESTAMPTZ NOT NULL,
    entity_key    UINTEGER
);
INSERT INTO customer_attributes_050 SELECT entity_id, attribute_id, value, calculated_at, entity_key FROM customer_attributes;
DROP TABLE customer_attributes;
ALTER TABLE customer_attributes_050 RENAME TO customer_attributes;
