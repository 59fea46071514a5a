-- Plugins (package plugin): the URL key, stages, datasets, properties.

-- name: PluginKeyGet
SELECT key FROM plugin_keys WHERE id = 1

-- name: PluginKeyInsert
INSERT INTO plugin_keys (id, key, created_at) VALUES (1, $1, CAST($2 AS TIMESTAMPTZ))
ON CONFLICT (id) DO NOTHING

-- name: PluginStageStatus
SELECT status FROM plugin_stages WHERE run_id = $1 AND stage = $2

-- name: PluginStageStart
INSERT INTO plugin_stages (run_id, stage, status, started_at, finished_at)
VALUES ($1, $2, 'running', CAST($3 AS TIMESTAMPTZ), NULL)
ON CONFLICT (run_id, stage) DO UPDATE SET status = 'running', started_at = excluded.started_at, finished_at = NULL

-- name: PluginStageFinish
UPDATE plugin_stages SET status = $3, finished_at = CAST($4 AS TIMESTAMPTZ)
WHERE run_id = $1 AND stage = $2

-- name: PluginDatasetInsert
INSERT INTO plugin_datasets (run_id, key, spec, created_at) VALUES ($1, $2, $3, CAST($4 AS TIMESTAMPTZ))
ON CONFLICT (run_id, key) DO NOTHING

-- name: PluginDatasetGet
SELECT spec FROM plugin_datasets WHERE run_id = $1 AND key = $2

-- name: PluginUserCount
-- Ends with its condition on e: a dataset's consent filter is appended.
SELECT count(*) FROM entities e WHERE e.merged_into IS NULL

-- name: PluginStagingDeleteBatch
DELETE FROM plugin_property_staging WHERE run_id = $1 AND batch = $2

-- name: PluginStagingDeleteRun
DELETE FROM plugin_property_staging WHERE run_id = $1

-- name: PluginStagingInsert
-- Parallel lists, each one text joined by chr(31) (no value holds it: JSON
-- has no raw control characters and user ids are checked), split and
-- unnested side by side (both engines zip them). One text per list is far
-- cheaper to bind than an array of a hundred thousand.
INSERT INTO plugin_property_staging (run_id, batch, ord, property, entity_id, value)
SELECT $1, $2, CAST(unnest(string_to_array($3, chr(31))) AS BIGINT), unnest(string_to_array($4, chr(31))),
       unnest(string_to_array($5, chr(31))), unnest(string_to_array($6, chr(31)))

-- name: PluginStagingFollowMerges
-- One hop along the merge log: repeated until nothing moves.
UPDATE plugin_property_staging SET entity_id = e.merged_into
FROM entities e
WHERE plugin_property_staging.run_id = $1 AND e.id = plugin_property_staging.entity_id AND e.merged_into IS NOT NULL

-- name: PluginStagingUnknownCount
SELECT count(DISTINCT s.entity_id) FROM plugin_property_staging s
WHERE s.run_id = $1 AND NOT EXISTS (SELECT 1 FROM entities e WHERE e.id = s.entity_id)

-- name: PluginStagingUnknownExamples
SELECT DISTINCT s.entity_id FROM plugin_property_staging s
WHERE s.run_id = $1 AND NOT EXISTS (SELECT 1 FROM entities e WHERE e.id = s.entity_id)
ORDER BY s.entity_id LIMIT $2

-- name: PluginValuesPublish
-- The last update of each user and property wins (later batch, later row).
INSERT INTO plugin_property_values (property_id, entity_id, value)
SELECT DISTINCT ON (s.property, s.entity_id) $2 || s.property, s.entity_id, s.value
FROM plugin_property_staging s JOIN entities e ON e.id = s.entity_id
WHERE s.run_id = $1
ORDER BY s.property, s.entity_id, s.batch DESC, s.ord DESC

-- name: PluginValuesCount
SELECT s.property, count(DISTINCT s.entity_id) FROM plugin_property_staging s
JOIN entities e ON e.id = s.entity_id
WHERE s.run_id = $1
GROUP BY s.property

-- name: PluginPropertiesOfRun
SELECT count(*) FROM plugin_properties WHERE run_id = $1

-- name: PluginPropertyInsert
INSERT INTO plugin_properties (id, plugin, run_id, name, category, type, entities, published_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8 AS TIMESTAMPTZ))

-- name: PluginPropertyList
SELECT id, plugin, run_id, name, category, type, entities, published_at FROM plugin_properties

-- name: PropertyValuesOf
SELECT v.entity_id, v.property_id, v.value FROM plugin_property_values v
WHERE v.entity_id IN (SELECT unnest(CAST($1 AS TEXT[])))
ORDER BY v.entity_id, v.property_id

-- name: PluginDatasetDelete
DELETE FROM plugin_datasets WHERE run_id = $1 AND key = $2

-- name: PluginStageList
SELECT stage, status, started_at, finished_at FROM plugin_stages WHERE run_id = $1 ORDER BY started_at, stage

-- name: PluginRunEnded
INSERT INTO plugin_runs (run_id, plugin, status, ended_at) VALUES ($1, $2, $3, CAST($4 AS TIMESTAMPTZ))
ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at

-- name: PluginRunDeployable
UPDATE plugin_runs SET deploy = $2 WHERE run_id = $1

-- name: PluginDeployLatest
-- The latest successful deployable run of each plugin.
SELECT plugin, run_id, deploy FROM (
  SELECT plugin, run_id, deploy, row_number() OVER (PARTITION BY plugin ORDER BY ended_at DESC, run_id DESC) AS n
  FROM plugin_runs WHERE status = 'succeeded' AND deploy IS NOT NULL
) d WHERE n = 1
ORDER BY plugin

-- name: PluginStagingSweep
-- A run publishes and clears its staging in one transaction, so staging
-- of a run that is no longer active (ended in error, terminated, stalled,
-- or forgotten by job_runs) will never be published.
DELETE FROM plugin_property_staging WHERE run_id NOT IN (
  SELECT id FROM job_runs WHERE status NOT IN ('complete', 'error', 'terminated'))

-- name: PluginRunsPrunable
-- Runs whose files, datasets, stage rows and properties can go: ended
-- before $1 (by job_runs, or, once it forgot them, by their last stage,
-- dataset or property), not active, and neither the latest successful run
-- of their plugin, its latest successful deployable run (deployed by every
-- server), nor the run of its latest published properties.
WITH runs AS (
  SELECT run_id, max(t) AS last_at FROM (
    SELECT run_id, coalesce(finished_at, started_at) AS t FROM plugin_stages
    UNION ALL SELECT run_id, created_at FROM plugin_datasets
    UNION ALL SELECT run_id, published_at FROM plugin_properties
  ) a GROUP BY run_id
), keep AS (
  SELECT run_id FROM (
    SELECT run_id, row_number() OVER (PARTITION BY plugin ORDER BY ended_at DESC, run_id DESC) AS n
    FROM plugin_runs WHERE status = 'succeeded'
  ) k WHERE n = 1
  UNION
  SELECT run_id FROM (
    SELECT run_id, row_number() OVER (PARTITION BY plugin ORDER BY ended_at DESC, run_id DESC) AS n
    FROM plugin_runs WHERE status = 'succeeded' AND deploy IS NOT NULL
  ) d WHERE n = 1
  UNION
  SELECT run_id FROM (
    SELECT run_id, row_number() OVER (PARTITION BY plugin ORDER BY published_at DESC, run_id DESC) AS n
    FROM plugin_properties
  ) p WHERE n = 1
)
SELECT r.run_id FROM runs r LEFT JOIN job_runs j ON j.id = r.run_id
WHERE coalesce(j.completed_at, r.last_at) < CAST($1 AS TIMESTAMPTZ)
  AND (j.id IS NULL OR j.status IN ('complete', 'error', 'terminated'))
  AND r.run_id NOT IN (SELECT run_id FROM keep)
ORDER BY r.run_id
LIMIT $2

-- name: PluginPruneValues
DELETE FROM plugin_property_values WHERE property_id IN (
  SELECT id FROM plugin_properties WHERE run_id IN (SELECT unnest(CAST($1 AS TEXT[]))))

-- name: PluginPruneProperties
DELETE FROM plugin_properties WHERE run_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: PluginPruneStages
DELETE FROM plugin_stages WHERE run_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: PluginPruneDatasets
DELETE FROM plugin_datasets WHERE run_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: PluginPruneDatasetUsers
DELETE FROM plugin_dataset_users WHERE run_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: PluginPruneDatasetValues
DELETE FROM plugin_dataset_values WHERE run_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: PluginPruneRuns
DELETE FROM plugin_runs WHERE run_id IN (SELECT unnest(CAST($1 AS TEXT[])))

-- name: PluginDatasetExists
SELECT count(*) FROM plugin_datasets WHERE run_id = $1 AND key = $2

-- name: PluginDatasetUsersCount
-- Ends with its condition on e: a dataset's consent filter is appended.
SELECT count(*) FROM plugin_dataset_users u JOIN entities e ON e.id = u.entity_id AND e.merged_into IS NULL
WHERE u.run_id = $1 AND u.key = $2

-- name: PluginDatasetUsersDelete
DELETE FROM plugin_dataset_users WHERE run_id = $1 AND key = $2

-- name: PluginDatasetValuesDelete
DELETE FROM plugin_dataset_values WHERE run_id = $1 AND key = $2
