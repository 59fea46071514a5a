-- PostgreSQL gets a safe cast function here; DuckDB has TRY_CAST.
SELECT 1;
