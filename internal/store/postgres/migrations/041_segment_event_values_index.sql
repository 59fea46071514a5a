-- PostgreSQL finds a key's values up to a seq, and an erased event's
-- values, by index; DuckDB reads them by scan (zone maps) and keeps no
-- index (041 is a no-op there).
CREATE INDEX segment_event_values_key_seq ON segment_event_values (key, seq);
CREATE INDEX segment_event_values_seq ON segment_event_values (seq);
