-- Segments (package segment, eventfields.go): a copy of the top-level
-- fields of the events' payloads, per event type (source and type, every
-- version), as text: exactly what payload->>'key' gives. A condition whose
-- where and field read only such fields is evaluated over these narrow
-- columns rather than by parsing every payload of its type (the first
-- count of a new condition in the console's builder). Only backends that
-- report store.Capabilities.PayloadFields fill them (DuckDB).
--
-- segment_field_types: per type (tkey, a hash of source and type), the
-- log's seq up to which its events are copied, and whether its payloads
-- hold more keys (of letters, digits and _) than there are columns.
-- segment_field_keys: the keys copied, column cN holding key pos N.
-- A key of the type that is not here (and the type not overflowing) is in
-- no payload of its events up to filled_to. Erasure and retention delete
-- the rows of the events they delete, and reclaim them.
CREATE TABLE segment_field_types (
    tkey      BIGINT PRIMARY KEY,
    source_id TEXT NOT NULL,
    type      TEXT NOT NULL,
    filled_to BIGINT NOT NULL,
    overflow  BOOLEAN NOT NULL
);
CREATE TABLE segment_field_keys (
    tkey BIGINT NOT NULL,
    pos  INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (tkey, pos)
);
CREATE TABLE segment_event_fields (
    tkey BIGINT NOT NULL,
    seq  BIGINT NOT NULL,
    c1   TEXT,
    c2   TEXT,
    c3   TEXT,
    c4   TEXT,
    c5   TEXT,
    c6   TEXT,
    c7   TEXT,
    c8   TEXT,
    c9   TEXT,
    c10   TEXT,
    c11   TEXT,
    c12   TEXT,
    c13   TEXT,
    c14   TEXT,
    c15   TEXT,
    c16   TEXT,
    c17   TEXT,
    c18   TEXT,
    c19   TEXT,
    c20   TEXT,
    c21   TEXT,
    c22   TEXT,
    c23   TEXT,
    c24   TEXT
);
