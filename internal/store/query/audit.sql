-- The audit trail (package audit).

-- name: AuditInsert
INSERT INTO audit_log (recorded_at, key_id, key_name, request_id, action, method, route, path, status, summary)
VALUES (CAST($1 AS TIMESTAMPTZ), $2, $3, $4, $5, $6, $7, $8, $9, $10)

-- name: AuditList
-- Newest first; $2 = '' matches every action.
SELECT id, recorded_at, key_id, key_name, request_id, action, method, route, path, status, summary
FROM audit_log
WHERE recorded_at >= CAST($1 AS TIMESTAMPTZ) AND ($2 = '' OR action = $2)
ORDER BY id DESC
LIMIT $3
