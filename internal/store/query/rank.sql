-- The ranking engine's state (package rank), read in the background.

-- name: RankMaxSeq
SELECT coalesce(max(seq), 0) FROM event_log

-- name: RankEngagement
-- Delivery impressions and actions logged after the watermark $1 up to $2,
-- counted per content, event type and action type. A custom action counts
-- under its own name; protojson leaves out an enum at its zero value, so a
-- missing actionType is UNKNOWN_ACTION_TYPE. Internal users' records
-- (marked internalUser, or with userInfo.isInternalUser) do not count.
SELECT payload->>'contentId', type,
       CASE WHEN type = 'impression' THEN ''
            WHEN payload->>'actionType' = 'CUSTOM_ACTION_TYPE' AND coalesce(payload->>'customActionType', '') <> ''
                THEN payload->>'customActionType'
            ELSE coalesce(payload->>'actionType', 'UNKNOWN_ACTION_TYPE') END,
       count(*)
FROM event_log
WHERE seq > $1 AND seq <= $2 AND source_id = 'delivery' AND type IN ('impression', 'action')
  AND coalesce(payload->>'contentId', '') <> ''
  AND (payload->>'internalUser') IS NULL AND coalesce(payload->'userInfo'->>'isInternalUser', 'false') <> 'true'
GROUP BY 1, 2, 3

-- name: RankPropertyList
SELECT id, plugin, name, published_at FROM plugin_properties

-- name: RankUsers
-- Every live entity holding a userId ($1) or anonUserId ($2) identifier,
-- most recently modified first, one row per identifier (kind 0, 1), per
-- value of the attributes $3 (kind 2) and plugin properties $4 (kind 3)
-- the rules read, and per membership of the segments $5 (kind 4). The
-- reader stops at its byte cap, so the order decides who is kept.
-- With a personalization consent filter, RankUsersConsenting takes the
-- place of the block comment "consenting" of the WHERE clause.
SELECT e.id, x.kind, x.key, x.value
FROM entities e JOIN (
    SELECT entity_id, 0 AS kind, '' AS key, value FROM identifiers WHERE category = $1
    UNION ALL
    SELECT entity_id, 1, '', value FROM identifiers WHERE category = $2
    UNION ALL
    SELECT entity_id, 2, attribute_id, value FROM customer_attributes
    WHERE attribute_id IN (SELECT unnest(CAST($3 AS TEXT[])))
    UNION ALL
    SELECT entity_id, 3, property_id, value FROM plugin_property_values
    WHERE property_id IN (SELECT unnest(CAST($4 AS TEXT[])))
    UNION ALL
    SELECT entity_id, 4, segment_id, '' FROM segment_members
    WHERE segment_id IN (SELECT unnest(CAST($5 AS TEXT[])))
) x ON x.entity_id = e.id
WHERE e.merged_into IS NULL
  AND e.id IN (SELECT entity_id FROM identifiers WHERE category IN ($1, $2))
  /* consenting */
ORDER BY e.modified_at DESC, e.id, x.kind, x.key, x.value

-- name: RankUsersConsenting
-- The condition loadUsers puts in place of the comment consenting of
-- RankUsers to read only the entities that have the personalization
-- consent held by the attribute $6 (missing granted: $7): a condition
-- added rather than one that holds for everyone without a filter, so the
-- planners keep the semi-join they choose for one, and scan nothing more
-- without.
AND e.id IN (SELECT entity_id FROM weft_consenting($6, CAST($7 AS BOOLEAN)))
