-- weft_consenting(attribute, missing_granted): the live entities that have
-- a consent purpose held by the bool attribute (package consent), equal to
-- PostgreSQL's function of the same name. A table macro of the database
-- (not a temporary one of macros.sql): DuckDB binds a table macro's tables
-- when it is created, so it is created once they exist.
CREATE MACRO weft_consenting(attribute, missing_granted) AS TABLE
    SELECT c.entity_id FROM customer_attributes c JOIN entities e ON e.id = c.entity_id AND e.merged_into IS NULL
    WHERE NOT missing_granted AND c.attribute_id = attribute AND weft_to_bool(c.value) IS TRUE
    UNION ALL
    SELECT e.id AS entity_id FROM entities e
    WHERE missing_granted AND e.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM customer_attributes c
        WHERE c.entity_id = e.id AND c.attribute_id = attribute AND weft_to_bool(c.value) IS NOT TRUE);
