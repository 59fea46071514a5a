-- DuckDB stores the attribute values uncompressed here (as 017 did their
-- entity ids). PostgreSQL compresses only long texts and needs nothing.
SELECT 1;
