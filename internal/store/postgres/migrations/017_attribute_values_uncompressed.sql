-- DuckDB stores the attribute values' entity ids uncompressed here.
-- PostgreSQL does not compress short texts and needs nothing.
SELECT 1;
