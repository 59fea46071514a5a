-- DuckDB adds an integer entity_key to entity_events and identifiers here
-- (its scans narrow by it); PostgreSQL finds an entity's rows through its
-- B-tree indexes on entity_id and needs none.
SELECT 1;
