-- PostgreSQL's sha256 takes and returns bytes: the value is hashed as
-- UTF-8 and compared as lowercase hex, as DuckDB's sha256 does.

-- name: PrivacyIdentifierEntitiesSHA256
SELECT DISTINCT entity_id FROM identifiers
WHERE category = $1 AND encode(sha256(convert_to(value, 'UTF8')), 'hex') = $2
