-- Applied configurations (weft.yaml).

-- name: ConfigCurrent
SELECT version, body, normalized, applied_at FROM configs ORDER BY version DESC LIMIT 1

-- name: ConfigInsert
INSERT INTO configs (version, body, normalized, applied_at)
SELECT coalesce(max(version), 0) + 1, $1, $2, CAST($3 AS TIMESTAMPTZ) FROM configs
RETURNING version
