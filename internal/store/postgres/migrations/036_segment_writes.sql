-- DuckDB drops the primary key of segment_changes and an index of
-- segment_members here, which cost it more to keep up to date than the
-- rows themselves; PostgreSQL keeps both (its B-trees are cheap to extend,
-- and its planner uses them).
SELECT 1;
