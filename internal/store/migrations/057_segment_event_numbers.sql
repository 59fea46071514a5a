-- Segments (package segment, eventfields.go): beside the text of each
-- copied payload field (cN, what payload->>'key' gives), its value as
-- DuckDB's ::numeric gives it (nN, DECIMAL(18,3)), for a key whose every
-- copied value converts (segment_field_keys.numeric): a sum's field
-- (payload->>'total')::numeric then reads a number instead of converting
-- 2M texts each count (at 10M events, about 100 ms of CPU of a 0.5 s
-- count). The copy is a cache of the log: it is made anew (the server's
-- background copy fills it again, about 45 s of CPU at 10M events) rather
-- than converted in place, so that every copied row has its numbers.
DROP TABLE segment_event_fields;
DROP TABLE segment_field_keys;
DELETE FROM segment_field_types;
-- numeric: every value of the key copied up to the type's filled_to is
-- NULL or converts to DECIMAL(18,3); once false, it stays false.
CREATE TABLE segment_field_keys (
    tkey    BIGINT NOT NULL,
    pos     INTEGER NOT NULL,
    name    TEXT NOT NULL,
    numeric BOOLEAN NOT NULL,
    PRIMARY KEY (tkey, pos)
);
CREATE TABLE segment_event_fields (
    tkey BIGINT NOT NULL,
    seq  BIGINT NOT NULL,
    c1 TEXT,
    c2 TEXT,
    c3 TEXT,
    c4 TEXT,
    c5 TEXT,
    c6 TEXT,
    c7 TEXT,
    c8 TEXT,
    c9 TEXT,
    c10 TEXT,
    c11 TEXT,
    c12 TEXT,
    c13 TEXT,
    c14 TEXT,
    c15 TEXT,
    c16 TEXT,
    c17 TEXT,
    c18 TEXT,
    c19 TEXT,
    c20 TEXT,
    c21 TEXT,
    c22 TEXT,
    c23 TEXT,
    c24 TEXT,
    n1 DECIMAL(18,3),
    n2 DECIMAL(18,3),
    n3 DECIMAL(18,3),
    n4 DECIMAL(18,3),
    n5 DECIMAL(18,3),
    n6 DECIMAL(18,3),
    n7 DECIMAL(18,3),
    n8 DECIMAL(18,3),
    n9 DECIMAL(18,3),
    n10 DECIMAL(18,3),
    n11 DECIMAL(18,3),
    n12 DECIMAL(18,3),
    n13 DECIMAL(18,3),
    n14 DECIMAL(18,3),
    n15 DECIMAL(18,3),
    n16 DECIMAL(18,3),
    n17 DECIMAL(18,3),
    n18 DECIMAL(18,3),
    n19 DECIMAL(18,3),
    n20 DECIMAL(18,3),
    n21 DECIMAL(18,3),
    n22 DECIMAL(18,3),
    n23 DECIMAL(18,3),
    n24 DECIMAL(18,3)
);
