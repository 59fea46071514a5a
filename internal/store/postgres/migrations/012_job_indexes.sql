-- The runner looks for due runs every second, and a busy server makes a
-- stitching run a second: without these the claim and the newest-first
-- list scan every run kept for --job-retention.
CREATE INDEX job_runs_waiting ON job_runs (created_at) WHERE status IN ('pending', 'scheduled', 'running');
CREATE INDEX job_runs_created ON job_runs (created_at);
