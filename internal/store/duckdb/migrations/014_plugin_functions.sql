-- PostgreSQL creates weft_unit_hash and indexes here; on DuckDB the
-- function is a temporary macro (macros.sql) and scans serve the lookups.
SELECT 1;
