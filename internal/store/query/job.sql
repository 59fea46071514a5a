-- The job runtime: runs, logs, schedules, notifications.

-- name: JobClaimLock
-- Claims are serialized in process by the runner; PostgreSQL overrides this
-- to serialize them across processes, so that two workers never start runs
-- of the same job at once.
SELECT 1

-- name: JobRunInsert
INSERT INTO job_runs (id, job, kind, params, status, trigger, scheduled_at, run_after, created_at)
VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS TIMESTAMPTZ), CAST($8 AS TIMESTAMPTZ), CAST($9 AS TIMESTAMPTZ))

-- name: JobRunActive
-- Runs of a job that are waiting or running (a running one whose worker
-- died still counts: it will be resumed).
SELECT id, status FROM job_runs
WHERE job = $1 AND status IN ('pending', 'scheduled', 'running')
ORDER BY created_at, id

-- name: JobRunClaimNext
-- The oldest run that is due, or running under an expired lease, of a job
-- with no other run running under a live lease.
SELECT r.id FROM job_runs r
WHERE ((r.status IN ('pending', 'scheduled') AND r.run_after <= CAST($1 AS TIMESTAMPTZ))
       OR (r.status = 'running' AND r.lease_until < CAST($1 AS TIMESTAMPTZ)))
  AND NOT EXISTS (
      SELECT 1 FROM job_runs o
      WHERE o.job = r.job AND o.id <> r.id AND o.status = 'running'
        AND o.lease_until >= CAST($1 AS TIMESTAMPTZ))
ORDER BY r.created_at, r.id
LIMIT 1

-- name: JobRunClaim
-- A run taken from pending starts an attempt; one taken over from a dead
-- worker goes on with the attempt it was in.
UPDATE job_runs SET
    attempts = CASE WHEN status = 'running' THEN attempts ELSE attempts + 1 END,
    status = 'running',
    worker = $2,
    lease_until = CAST($3 AS TIMESTAMPTZ),
    started_at = coalesce(started_at, CAST($4 AS TIMESTAMPTZ)),
    -- The stall clock restarts with each claim: time a run spent waiting,
    -- or held by a dead worker while no server ran, is not a stall.
    state_changed_at = CAST($4 AS TIMESTAMPTZ)
WHERE id = $1

-- name: JobRunCheckpoint
-- After Prepare and each Perform: the new checkpoint and a longer lease,
-- only while this worker holds the run.
UPDATE job_runs SET
    checkpoint = $3,
    performs = performs + $4,
    state_changed_at = CASE WHEN $5 THEN CAST($6 AS TIMESTAMPTZ) ELSE state_changed_at END,
    lease_until = CAST($7 AS TIMESTAMPTZ)
WHERE id = $1 AND worker = $2 AND status = 'running'

-- name: JobRunHeartbeat
UPDATE job_runs SET lease_until = CAST($3 AS TIMESTAMPTZ)
WHERE id = $1 AND worker = $2 AND status = 'running'

-- name: JobRunControl
-- What the worker running a run must know while it runs: whether someone
-- asked to terminate it, and since when its state has not changed.
SELECT terminate_requested, state_changed_at FROM job_runs WHERE id = $1 AND worker = $2 AND status = 'running'

-- name: JobRunFinish
UPDATE job_runs SET status = $3, errors = $4, completed_at = CAST($5 AS TIMESTAMPTZ), lease_until = NULL
WHERE id = $1 AND worker = $2 AND status = 'running'

-- name: JobRunRetry
UPDATE job_runs SET status = 'pending', errors = $3, run_after = CAST($4 AS TIMESTAMPTZ), worker = NULL, lease_until = NULL
WHERE id = $1 AND worker = $2 AND status = 'running'

-- name: JobRunTerminateWaiting
UPDATE job_runs SET status = 'terminated', terminate_requested = $2, completed_at = CAST($3 AS TIMESTAMPTZ)
WHERE id = $1 AND status IN ('pending', 'scheduled')

-- name: JobRunTerminateRunning
UPDATE job_runs SET terminate_requested = $2
WHERE id = $1 AND status = 'running' AND terminate_requested IS NULL

-- name: JobRunGet
SELECT id, job, kind, params, status, trigger, checkpoint, performs, attempts, errors,
       scheduled_at, run_after, created_at, started_at, completed_at, state_changed_at,
       worker, lease_until, terminate_requested
FROM job_runs WHERE id = $1

-- name: JobRunList
SELECT id, job, kind, params, status, trigger, checkpoint, performs, attempts, errors,
       scheduled_at, run_after, created_at, started_at, completed_at, state_changed_at,
       worker, lease_until, terminate_requested
FROM job_runs
WHERE ($1 = '' OR job = $1) AND ($2 = '' OR status = $2)
  AND created_at >= CAST($3 AS TIMESTAMPTZ) AND created_at < CAST($4 AS TIMESTAMPTZ)
ORDER BY created_at DESC, id DESC
LIMIT $5

-- name: JobRunPrune
DELETE FROM job_runs WHERE completed_at < CAST($1 AS TIMESTAMPTZ)

-- name: JobLogPrune
DELETE FROM job_logs WHERE run_id NOT IN (SELECT id FROM job_runs)

-- name: JobLogInsert
INSERT INTO job_logs (run_id, logged_at, level, message, fields)
VALUES ($1, CAST($2 AS TIMESTAMPTZ), $3, $4, $5)

-- name: JobLogList
-- A run's lines after a line id, at a level or above, logged in [$4, $5).
SELECT id, logged_at, level, message, fields FROM job_logs
WHERE run_id = $1 AND id > $2
  AND CASE level WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warn' THEN 2 ELSE 3 END >= $3
  AND logged_at >= CAST($4 AS TIMESTAMPTZ) AND logged_at < CAST($5 AS TIMESTAMPTZ)
ORDER BY id
LIMIT $6

-- name: JobScheduleList
SELECT job, last_tick FROM job_schedules

-- name: JobScheduleStart
INSERT INTO job_schedules (job, last_tick) VALUES ($1, CAST($2 AS TIMESTAMPTZ))
ON CONFLICT (job) DO NOTHING

-- name: JobScheduleAdvance
UPDATE job_schedules SET last_tick = CAST($3 AS TIMESTAMPTZ)
WHERE job = $1 AND last_tick = CAST($2 AS TIMESTAMPTZ)

-- name: NotificationInsert
INSERT INTO notifications (created_at, level, activity, title, summary, details, run_id, job)
VALUES (CAST($1 AS TIMESTAMPTZ), $2, $3, $4, $5, $6, $7, $8)

-- name: NotificationList
SELECT id, created_at, level, activity, title, summary, details, run_id, job FROM notifications
WHERE ($1 = '' OR level = $1) AND ($2 = '' OR job = $2)
ORDER BY id DESC
LIMIT $3
