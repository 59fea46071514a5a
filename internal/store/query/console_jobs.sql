-- The console's jobs pages (package console).

-- name: JobRunPage
-- Runs newest first, a page after the keyset cursor ($5, $6): the created
-- time and id of the last run of the previous page. The first page passes
-- a cursor later than any run, so no NULL parameter is needed.
SELECT id, job, kind, params, status, trigger, checkpoint, performs, attempts, errors,
       scheduled_at, run_after, created_at, started_at, completed_at, state_changed_at,
       worker, lease_until, terminate_requested
FROM job_runs
WHERE ($1 = '' OR job = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR kind = $3)
  AND (created_at < CAST($5 AS TIMESTAMPTZ) OR (created_at = CAST($5 AS TIMESTAMPTZ) AND id < $6))
ORDER BY created_at DESC, id DESC
LIMIT $4

-- name: JobRunLatest
-- The newest run of every job. Finished runs are pruned after the
-- retention (7 days by default), so the window reads a bounded table.
SELECT id, job, kind, params, status, trigger, checkpoint, performs, attempts, errors,
       scheduled_at, run_after, created_at, started_at, completed_at, state_changed_at,
       worker, lease_until, terminate_requested
FROM (
    SELECT *, row_number() OVER (PARTITION BY job ORDER BY created_at DESC, id DESC) AS newest
    FROM job_runs
) r
WHERE newest = 1
