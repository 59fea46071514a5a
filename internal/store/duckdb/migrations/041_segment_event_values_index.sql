-- DuckDB keeps no index on segment_event_values: its rows arrive in seq
-- order per key, and zone maps find them (PostgreSQL indexes them here).
SELECT 1;
