-- The history of applied configurations, for the console's config pages.

-- name: ConfigVersionList
-- Newest first, before version $1 (keyset paging), without the bodies.
SELECT version, applied_at FROM configs WHERE version < $1 ORDER BY version DESC LIMIT $2

-- name: ConfigVersionGet
SELECT version, body, normalized, applied_at FROM configs WHERE version = $1
