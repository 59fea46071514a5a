-- name: AttrCachesCounted
-- The caches of the attributes $1 (an array): customers with a value and
-- distinct values counted, by attribute id.
SELECT r.id, coalesce(c.customers_count, 0), coalesce(v.n, 0)
FROM (SELECT unnest(CAST($1 AS TEXT[])) AS id) r
LEFT JOIN attribute_customers_cache c ON c.attribute_id = r.id
LEFT JOIN (SELECT attribute_id, count(*) AS n FROM attribute_values_counts
           WHERE attribute_id IN (SELECT unnest(CAST($1 AS TEXT[]))) GROUP BY attribute_id) v ON v.attribute_id = r.id
ORDER BY r.id
