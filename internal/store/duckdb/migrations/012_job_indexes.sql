-- PostgreSQL adds indexes on job_runs here. DuckDB scans the table (a
-- week of runs is a few hundred thousand rows, scanned in milliseconds)
-- and has no partial indexes; an ART index on the status, which every run
-- updates, would cost more than it saves.
SELECT 1;
