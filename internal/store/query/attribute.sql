-- Calculated attributes, as the profiles and attributes APIs read them.

-- name: AttributeValuesOf
SELECT entity_id, attribute_id, value FROM customer_attributes
WHERE entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
ORDER BY entity_id, attribute_id, value

-- name: AttributeStates
SELECT s.attribute_id, s.status, coalesce(s.error, ''), s.entities, s.value_rows, s.duration_ms, s.finished_at,
       coalesce(c.customers_count, 0)
FROM attribute_state s LEFT JOIN attribute_customers_cache c ON c.attribute_id = s.attribute_id
ORDER BY s.attribute_id

-- name: AttributeValueCounts
SELECT value, count FROM attribute_values_counts WHERE attribute_id = $1 ORDER BY count DESC, value LIMIT $2

-- name: AttributeCustomers
SELECT coalesce(max(customers_count), 0) FROM attribute_customers_cache WHERE attribute_id = $1
