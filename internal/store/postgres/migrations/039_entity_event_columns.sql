-- Each event mapping carries its event's source_id, type and event_time,
-- as event_log has them (DuckDB's 039 says why): the segments' event
-- conditions that only count read entity_events alone, one query text on
-- both backends; on PostgreSQL they then read the narrow mapping rows
-- instead of the log's, whose payloads make them wide. Every writer of
-- entity_events sets them.
ALTER TABLE entity_events ADD COLUMN source_id TEXT;
ALTER TABLE entity_events ADD COLUMN type TEXT;
ALTER TABLE entity_events ADD COLUMN event_time TIMESTAMPTZ;
DELETE FROM entity_events m WHERE NOT EXISTS (SELECT 1 FROM event_log e WHERE e.seq = m.event_seq);
UPDATE entity_events m SET source_id = e.source_id, type = e.type, event_time = e.event_time
FROM event_log e WHERE e.seq = m.event_seq;
ALTER TABLE entity_events ALTER COLUMN source_id SET NOT NULL;
ALTER TABLE entity_events ALTER COLUMN type SET NOT NULL;
ALTER TABLE entity_events ALTER COLUMN event_time SET NOT NULL;
