-- Each event mapping carries its event's source_id, type and event_time,
-- as event_log has them: an event condition of a segment (package
-- segment) that only counts reads entity_events alone, instead of joining
-- the log's matching events to the 10M mappings by seq (the join was
-- two thirds of the count). Every writer of entity_events sets them (the
-- stitcher takes them from the log in the statement that maps a batch).
-- DuckDB cannot add a NOT NULL column to a table with rows: the table is
-- copied (an UPDATE of the added columns from the log took 19 s and
-- 33 s of CPU at 10M events, the copy 7 s of CPU). Both sides of the
-- join are in seq order and DuckDB keeps the order of a join's input, so
-- the copy nearly is, without a sort (at 10M events, 29 rows follow a
-- greater seq, against 1 before; an ORDER BY spilled past the memory
-- limit and took 12 s of CPU): zone maps on event_seq and
-- event_time stay tight; source and type, a few distinct values,
-- compress to a dictionary. A mapping without its event in the log (none
-- should exist: erasure and retention delete both) is not copied.
CREATE TABLE entity_events_039 (
    event_seq  BIGINT NOT NULL,
    entity_id  TEXT NOT NULL,
    entity_key UINTEGER,
    source_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL
);
INSERT INTO entity_events_039
SELECT m.event_seq, m.entity_id, m.entity_key, e.source_id, e.type, e.event_time
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq;
DROP TABLE entity_events;
ALTER TABLE entity_events_039 RENAME TO entity_events;
