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
SELECT count(*) FROM entities WHERE merged_into IS NULL
