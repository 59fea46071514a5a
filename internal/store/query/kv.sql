-- Records of the job stores (package kv): kv, settings, secrets. Writes are
-- compare-and-swap on version; a write that affects no row lost a race.

-- name: KVGet
SELECT value, version, expires_at FROM kv_records WHERE store = $1 AND key = $2

-- name: KVInsert
-- $6 is the expiry (NULL: none).
INSERT INTO kv_records (store, key, value, version, expires_at, updated_at)
VALUES ($1, $2, $3, $4, CAST($6 AS TIMESTAMPTZ), CAST($5 AS TIMESTAMPTZ))
ON CONFLICT (store, key) DO NOTHING

-- name: KVUpdate
-- $6 is the version read; $7 the expiry to write (NULL: none).
UPDATE kv_records
SET value = $3, version = $4, updated_at = CAST($5 AS TIMESTAMPTZ), expires_at = CAST($7 AS TIMESTAMPTZ)
WHERE store = $1 AND key = $2 AND version = $6

-- name: KVDelete
DELETE FROM kv_records WHERE store = $1 AND key = $2 AND version = $3

-- name: KVExpire
-- Sets the expiry of a record that has not expired yet ($5 is now).
UPDATE kv_records
SET expires_at = CAST($3 AS TIMESTAMPTZ), version = $4
WHERE store = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > CAST($5 AS TIMESTAMPTZ))

-- name: KVDeleteExpired
DELETE FROM kv_records WHERE expires_at <= CAST($1 AS TIMESTAMPTZ)

-- name: KVList
-- The live records of a store, by key ($2 is now).
SELECT key, value, updated_at FROM kv_records
WHERE store = $1 AND (expires_at IS NULL OR expires_at > CAST($2 AS TIMESTAMPTZ))
ORDER BY key
