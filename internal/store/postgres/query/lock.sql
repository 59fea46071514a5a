-- PostgreSQL serves several processes, so the in-process mutexes are not
-- enough: these transaction-scoped advisory locks serialize across them.

-- name: MigrationLock
SELECT pg_advisory_xact_lock(7700001)

-- name: EventAppendLock
SELECT pg_advisory_xact_lock(7700002)

-- name: JobClaimLock
SELECT pg_advisory_xact_lock(7700003)
