-- PostgreSQL creates weft_sha256 here; on DuckDB it is a temporary macro
-- over sha256 (macros.sql).
SELECT 1;
