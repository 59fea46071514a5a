-- DuckDB adds a compact entity key to the attribute values here.
-- PostgreSQL finds an entity's values through customer_attributes_entity_idx
-- (007) and needs none.
SELECT 1;
