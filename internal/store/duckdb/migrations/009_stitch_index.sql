-- PostgreSQL adds indexes for the stitcher here; DuckDB scans instead
-- (indexes would cost memory and write speed, see 002).
SELECT 1;
