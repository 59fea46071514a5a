-- weft_consenting(attribute, missing_granted): the live entities that have
-- a consent purpose held by the bool attribute (package consent): its
-- value reads as true (weft_to_bool), or, when missing_granted, they have
-- no value that does not. The one place that answers which entities have
-- consent, set-based; DuckDB has the same as a table macro (macros.sql).
CREATE FUNCTION weft_consenting(attribute TEXT, missing_granted BOOLEAN) RETURNS TABLE (entity_id TEXT)
LANGUAGE SQL STABLE AS $$
    SELECT c.entity_id FROM customer_attributes c JOIN entities e ON e.id = c.entity_id AND e.merged_into IS NULL
    WHERE NOT $2 AND c.attribute_id = $1 AND weft_to_bool(c.value) IS TRUE
    UNION ALL
    SELECT e.id FROM entities e
    WHERE $2 AND e.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM customer_attributes c
        WHERE c.entity_id = e.id AND c.attribute_id = $1 AND weft_to_bool(c.value) IS NOT TRUE)
$$;
