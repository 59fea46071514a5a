-- The key store (package keys).

-- name: KeyInsert
-- No row inserted: a live key has the name.
INSERT INTO api_keys (id, name, live_name, hash, prefix, scopes, sources, created_at, allowed_origins)
VALUES ($1, $2, $2, $3, $4, $5, $6, CAST($7 AS TIMESTAMPTZ), $8)
ON CONFLICT (live_name) DO NOTHING

-- name: KeyListLive
SELECT id, name, hash, prefix, scopes, sources, created_at, last_used_at, allowed_origins
FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id

-- name: KeyRevoke
-- Revoking frees the name for a new key.
UPDATE api_keys SET revoked_at = CAST($2 AS TIMESTAMPTZ), live_name = NULL
WHERE id = $1 AND revoked_at IS NULL
RETURNING id, name, hash, prefix, scopes, sources, created_at, last_used_at, allowed_origins

-- name: KeyTouch
UPDATE api_keys SET last_used_at = CAST($2 AS TIMESTAMPTZ) WHERE id = $1 AND revoked_at IS NULL
