-- DuckDB drops the entity index of segment_members and stores the entity
-- ids of segment_members and segment_changes uncompressed here, for the
-- segments job's writes; PostgreSQL keeps its B-tree (cheap to extend,
-- and a profile's segments are found through it) and compresses nothing
-- of that size.
SELECT 1;
