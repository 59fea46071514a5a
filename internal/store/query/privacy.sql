-- Privacy requests and the processor's key pair (package privacy).

-- name: PrivacyRequestInsert
INSERT INTO privacy_requests (id, type, status, notified_status, identities, callback_urls, extensions,
    submitted_time, received_time, expected_completion_time, updated_at)
VALUES ($1, $2, 'pending', 'pending', $3, $4, $5, CAST($6 AS TIMESTAMPTZ), CAST($7 AS TIMESTAMPTZ),
    CAST($8 AS TIMESTAMPTZ), CAST($7 AS TIMESTAMPTZ))
ON CONFLICT (id) DO NOTHING

-- name: PrivacyRequestGet
SELECT id, type, status, notified_status, identities, callback_urls, entities, result, error,
    submitted_time, received_time, expected_completion_time, updated_at, completed_at
FROM privacy_requests WHERE id = $1

-- name: PrivacyRequestNext
-- The oldest requests with work left: to start, to finish, or callbacks to
-- send for their last change of status ($1 of them).
SELECT id FROM privacy_requests
WHERE status IN ('pending', 'in_progress') OR status <> notified_status
ORDER BY received_time, id
LIMIT $1

-- name: PrivacyRequestStart
-- pending to in_progress, unless it was cancelled meanwhile; $3 the
-- identities to keep (blanked for an erasure).
UPDATE privacy_requests
SET status = 'in_progress', entities = $2, identities = $3, updated_at = CAST($4 AS TIMESTAMPTZ)
WHERE id = $1 AND status = 'pending'

-- name: PrivacyRequestComplete
UPDATE privacy_requests
SET status = 'completed', result = $2, error = NULL, updated_at = CAST($3 AS TIMESTAMPTZ), completed_at = CAST($3 AS TIMESTAMPTZ)
WHERE id = $1 AND status = 'in_progress'

-- name: PrivacyRequestFailed
UPDATE privacy_requests SET error = $2, updated_at = CAST($3 AS TIMESTAMPTZ) WHERE id = $1

-- name: PrivacyRequestCancel
UPDATE privacy_requests
SET status = 'cancelled', updated_at = CAST($2 AS TIMESTAMPTZ), completed_at = CAST($2 AS TIMESTAMPTZ)
WHERE id = $1 AND status = 'pending'

-- name: PrivacyRequestNotified
UPDATE privacy_requests SET notified_status = $2 WHERE id = $1 AND status = $2

-- name: PrivacyIdentifierEntities
SELECT DISTINCT entity_id FROM identifiers WHERE category = $1 AND value = $2

-- name: PrivacyIdentifierEntitiesSHA256
-- $2 is the lowercase hex SHA-256 of the value; DuckDB's sha256 of a
-- string is that already (PostgreSQL overrides this query).
SELECT DISTINCT entity_id FROM identifiers WHERE category = $1 AND sha256(value) = $2

-- name: PrivacyAbsorbed
-- The entities and every entity merged into them, at any depth.
WITH RECURSIVE absorbed(id) AS (
    SELECT unnest(CAST($1 AS TEXT[]))
    UNION
    SELECT x.id FROM entities x JOIN absorbed a ON x.merged_into = a.id
)
SELECT id FROM absorbed ORDER BY id

-- name: PrivacyKeyGet
SELECT certificate, sealed_key FROM privacy_keys WHERE id = 1

-- name: PrivacyKeyInsert
INSERT INTO privacy_keys (id, certificate, sealed_key, created_at) VALUES (1, $1, $2, CAST($3 AS TIMESTAMPTZ))
ON CONFLICT (id) DO NOTHING

-- name: PrivacyRequestsExported
-- The access and portability requests that started, with their entities.
SELECT id, entities FROM privacy_requests WHERE type <> 'erasure' AND entities IS NOT NULL

-- name: PrivacyRequestForget
-- Blanks the identity values of a request about a person being erased.
UPDATE privacy_requests SET identities = $2, updated_at = CAST($3 AS TIMESTAMPTZ) WHERE id = $1
