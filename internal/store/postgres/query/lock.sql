-- PostgreSQL serves several processes, so the in-process mutexes are not
-- enough: these transaction-scoped advisory locks serialize across them.

-- name: MigrationLock
SELECT pg_advisory_xact_lock(7700001)

-- name: EventAppendLock
SELECT pg_advisory_xact_lock(7700002)

-- name: JobClaimLock
SELECT pg_advisory_xact_lock(7700003)

-- name: StitchingLockShared
-- Session locks (DB.LockStitching holds a connection until unlock):
-- passes share it, an erasure takes it alone.
SELECT pg_advisory_lock_shared(7700004)

-- name: StitchingUnlockShared
SELECT pg_advisory_unlock_shared(7700004)

-- name: StitchingTryLockShared
SELECT pg_try_advisory_lock_shared(7700004)

-- name: StitchingLock
SELECT pg_advisory_lock(7700004)

-- name: StitchingUnlock
SELECT pg_advisory_unlock(7700004)
