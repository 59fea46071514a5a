-- The demo attributes of internal/demo/weft.yaml the warehouse way: what a
-- dbt project on DuckDB would keep instead of Weft's attribute engine. A
-- staging view of the stitched events (the entity of each event), one
-- staging table of the purchases' products (the array unnested once), and
-- one plain GROUP BY model per attribute, each written to the long table
-- bl_attribute_values (entity_id, attribute_id, value TEXT) by
-- SQLAttributesBaseline, which runs the blocks below in order.
--
-- A "-- stage: name" block makes a relation the models read; a
-- "-- model: attribute_id" block is a SELECT of (entity_id, value), its
-- rows with a NULL value left out. DuckDB's aggregates are used as a user
-- of DuckDB would: arg_min/arg_max (rows whose value is NULL skipped),
-- mode, count(DISTINCT ...), list. Ties of first/last are broken by the
-- event id, as Weft does; those of mode are not (Weft's most and least
-- frequent break ties by the latest event, then the value).

-- stage: bl_events
CREATE TEMP VIEW bl_events AS
SELECT m.entity_id, e.id, e.source_id, e.type, e.event_time, e.payload
FROM entity_events m JOIN event_log e ON e.seq = m.event_seq;

-- stage: bl_products
CREATE TABLE bl_products AS
SELECT entity_id, p ->> 'category' AS category, p ->> 'sku' AS sku,
       TRY_CAST(p ->> 'price' AS DOUBLE) * TRY_CAST(p ->> 'quantity' AS DOUBLE) AS spend
FROM (SELECT entity_id, unnest(json_extract(payload, '$.products[*]')) AS p
      FROM bl_events WHERE source_id = 'shop' AND type = 'purchase') x;

-- model: first_page
SELECT entity_id, arg_min(payload ->> 'url', (event_time, id)) AS value
FROM bl_events WHERE source_id = 'web' AND type = 'page_view' GROUP BY entity_id;

-- model: last_page
SELECT entity_id, arg_max(payload ->> 'url', (event_time, id)) AS value
FROM bl_events WHERE source_id = 'web' AND type = 'page_view' GROUP BY entity_id;

-- model: favorite_page_category
SELECT entity_id, mode(payload ->> 'category') AS value
FROM bl_events WHERE type = 'page_view' GROUP BY entity_id;

-- model: devices
SELECT entity_id, count(DISTINCT payload ->> 'cookie_id') AS value
FROM bl_events WHERE source_id = 'web' GROUP BY entity_id HAVING count(DISTINCT payload ->> 'cookie_id') > 0;

-- model: page_views
SELECT entity_id, count(*) FILTER (WHERE type = 'page_view') AS value
FROM bl_events GROUP BY entity_id;

-- model: first_seen
SELECT entity_id, min(event_time) AS value FROM bl_events GROUP BY entity_id;

-- model: newsletter
SELECT entity_id, arg_max(TRY_CAST(payload ->> 'newsletter' AS BOOLEAN), (event_time, id)) AS value
FROM bl_events WHERE type = 'form_submit' GROUP BY entity_id;

-- model: emails
SELECT entity_id, unnest(emails) AS value FROM (
  SELECT entity_id, list(DISTINCT lower(trim(payload ->> 'email'))) AS emails
  FROM bl_events WHERE payload ->> 'email' IS NOT NULL GROUP BY entity_id) l;

-- model: first_name
SELECT entity_id, arg_max(payload ->> 'first_name', (event_time, id)) AS value
FROM bl_events WHERE source_id = 'crm' GROUP BY entity_id;

-- model: city
SELECT entity_id, min(payload ->> 'city') AS value
FROM bl_events WHERE source_id = 'crm' GROUP BY entity_id;

-- model: consent_marketing
SELECT entity_id, arg_max(TRY_CAST(payload ->> 'consent_marketing' AS BOOLEAN), (event_time, id)) AS value
FROM bl_events WHERE source_id = 'crm' GROUP BY entity_id;

-- model: total_spend
SELECT entity_id, sum(TRY_CAST(payload ->> 'total' AS DOUBLE)) AS value
FROM bl_events WHERE source_id = 'shop' AND type = 'purchase' GROUP BY entity_id;

-- model: average_order
SELECT entity_id, avg(TRY_CAST(payload ->> 'total' AS DOUBLE)) AS value
FROM bl_events WHERE source_id = 'shop' AND type = 'purchase' GROUP BY entity_id;

-- model: largest_order
SELECT entity_id, max(TRY_CAST(payload ->> 'total' AS DOUBLE)) AS value
FROM bl_events WHERE source_id = 'shop' AND type = 'purchase' GROUP BY entity_id;

-- model: smallest_order
SELECT entity_id, min(TRY_CAST(payload ->> 'total' AS DOUBLE)) AS value
FROM bl_events WHERE source_id = 'shop' AND type = 'purchase' GROUP BY entity_id;

-- model: last_purchase_date
SELECT entity_id, CAST(max(event_time) AS DATE) AS value
FROM bl_events WHERE source_id = 'shop' AND type = 'purchase' GROUP BY entity_id;

-- model: orders
SELECT entity_id, count(*) FILTER (WHERE source_id = 'shop' AND type = 'purchase') AS value
FROM bl_events GROUP BY entity_id;

-- model: favorite_category
SELECT entity_id, mode(category) AS value FROM bl_products GROUP BY entity_id;

-- model: favorite_category_by_spend
SELECT entity_id, arg_max(category, spend) AS value FROM (
  SELECT entity_id, category, coalesce(sum(spend), 0) AS spend
  FROM bl_products WHERE category IS NOT NULL GROUP BY entity_id, category) s
GROUP BY entity_id;

-- model: rarest_category
SELECT entity_id, arg_min(category, n) AS value FROM (
  SELECT entity_id, category, count(*) AS n
  FROM bl_products WHERE category IS NOT NULL GROUP BY entity_id, category) s
GROUP BY entity_id;

-- model: categories_bought
SELECT entity_id, count(DISTINCT category) AS value
FROM bl_products GROUP BY entity_id HAVING count(DISTINCT category) > 0;

-- model: shoes_bought
SELECT entity_id, unnest(skus) AS value FROM (
  SELECT entity_id, list(DISTINCT sku) AS skus
  FROM bl_products WHERE category = 'shoes' AND sku IS NOT NULL GROUP BY entity_id) l;

-- model: engagement
WITH counts AS (SELECT entity_id, count(*) AS n FROM bl_events GROUP BY entity_id),
     p90 AS (SELECT quantile_disc(n, 0.9) AS p FROM counts)
SELECT entity_id, n / CAST(p AS DOUBLE) AS value FROM counts, p90;
