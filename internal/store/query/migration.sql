-- Schema migration bookkeeping. Both engines accept this SQL.

-- name: MigrationTableCreate
CREATE TABLE IF NOT EXISTS weft_schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)

-- name: MigrationVersion
SELECT coalesce(max(version), 0) FROM weft_schema_migrations

-- name: MigrationRecord
INSERT INTO weft_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)

-- name: MigrationLock
-- DuckDB is owned by one process; PostgreSQL overrides this with a lock.
SELECT 1
