-- The job runtime (package jobrunner): runs, their logs, schedules and the
-- activity log.

-- One row per run. The checkpoint is the Status returned by the last
-- Prepare or Perform, written after each; a run whose lease has expired
-- while running belonged to a worker that died and is resumed from it.
CREATE TABLE job_runs (
    id                  TEXT PRIMARY KEY,
    job                 TEXT NOT NULL,        -- the declared (or registered) name
    kind                TEXT NOT NULL,        -- the registered job that runs it
    params              TEXT NOT NULL,        -- JSON object
    status              TEXT NOT NULL,        -- pending scheduled running complete error terminated
    trigger             TEXT NOT NULL,        -- schedule, manual, events, stitching
    checkpoint          TEXT,                 -- JSON {"state", "complete"}
    performs            BIGINT NOT NULL DEFAULT 0,
    attempts            INTEGER NOT NULL DEFAULT 0,
    errors              TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    scheduled_at        TIMESTAMPTZ NOT NULL,
    run_after           TIMESTAMPTZ NOT NULL, -- not claimed before (retry delay)
    created_at          TIMESTAMPTZ NOT NULL,
    started_at          TIMESTAMPTZ,
    completed_at        TIMESTAMPTZ,
    state_changed_at    TIMESTAMPTZ,          -- when the checkpoint's state last changed
    worker              TEXT,
    lease_until         TIMESTAMPTZ,
    terminate_requested TEXT                  -- why, once someone asked
);
CREATE INDEX job_runs_job ON job_runs (job, created_at);

CREATE SEQUENCE job_log_seq;

-- Lines a run logged through its Env.Log, in order.
CREATE TABLE job_logs (
    id      BIGINT PRIMARY KEY DEFAULT nextval('job_log_seq'),
    run_id  TEXT NOT NULL,
    logged_at TIMESTAMPTZ NOT NULL,
    level   TEXT NOT NULL,                    -- debug info warn error
    message TEXT NOT NULL,
    fields  TEXT NOT NULL                     -- JSON object
);
CREATE INDEX job_logs_run ON job_logs (run_id, id);

-- The last cron tick each scheduled job fired for; advancing it is the
-- compare-and-swap that keeps two processes from firing the same tick.
CREATE TABLE job_schedules (
    job       TEXT PRIMARY KEY,
    last_tick TIMESTAMPTZ NOT NULL
);

CREATE SEQUENCE notification_seq;

-- The activity log: what jobs tell users.
CREATE TABLE notifications (
    id       BIGINT PRIMARY KEY DEFAULT nextval('notification_seq'),
    created_at TIMESTAMPTZ NOT NULL,
    level    TEXT NOT NULL,                   -- info success warn error
    activity TEXT NOT NULL,
    title    TEXT NOT NULL,
    summary  TEXT NOT NULL,
    details  TEXT NOT NULL,
    run_id   TEXT,
    job      TEXT
);
