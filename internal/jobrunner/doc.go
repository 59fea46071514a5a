// Package jobrunner is the job runtime: it turns schedules and triggers
// into runs (rows in job_runs), claims them under a lease, drives a job's
// Prepare and Perform calls, stores the checkpoint after each, and
// records logs and notifications.
//
// The guarantees, all held by the database so that they survive a crash:
//   - A run's checkpoint is written after every Prepare and Perform. A
//     worker that dies (SIGKILL, power loss) stops renewing its lease; the
//     run is then claimed again and resumed from its last checkpoint with
//     Prepare(..., resuming=true). On DuckDB, whose file only one process
//     can open, a starting runner takes over such runs at once.
//   - Runs of the same job never overlap: a run is claimed only when no
//     other run of its job is running under a live lease, and a cron tick
//     that comes while one is active is skipped and logged.
//   - A run that fails (an error or a panic in Prepare or Perform) is
//     retried once with the same id, from its last checkpoint; a second
//     failure ends it in error. A run whose state has not changed for
//     Options.StallAfter, or that someone terminates, ends terminated.
//   - A job instance that is an io.Closer (job.Closer) is closed when its
//     run ends in this process, however it ends: complete, error, a
//     retry's new attempt, terminated, lease lost, shutdown.
//
// Schedules are Quartz cron expressions (package quartz) in UTC; the last
// tick each one fired for is stored, and advancing it is a
// compare-and-swap, so two processes never fire the same tick.
package jobrunner
