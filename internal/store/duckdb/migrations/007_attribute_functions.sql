-- PostgreSQL adds indexes and conversion functions here. DuckDB needs
-- neither: its scans and hash joins serve the attribute statements without
-- indexes (which would cost memory and write speed, see 002), and the
-- conversions are temporary macros over TRY_CAST in macros.sql.
SELECT 1;
