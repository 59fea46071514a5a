-- PostgreSQL adds indexes for step 12's look-ups here; DuckDB scans
-- instead (see 002).
SELECT 1;
