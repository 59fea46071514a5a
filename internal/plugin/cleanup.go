package plugin

import (
	"context"
	"fmt"
	"time"
)

// RetentionDefault is how long a finished run's files, datasets and
// properties are kept (unless they are its plugin's latest): the job
// runtime's default retention of finished runs.
const RetentionDefault = 7 * 24 * time.Hour

// pruneChunk bounds the runs one statement prunes.
const pruneChunk = 100

// Run outcomes recorded by RunEnded.
const (
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// RunEnded records how a plugin run ended (RunSucceeded or RunFailed),
// so that the cleanup keeps each plugin's latest successful run after
// the job runtime has forgotten it. Recording it again overwrites it.
func (s *Service) RunEnded(ctx context.Context, run, plugin, status string) error {
	if _, err := s.db.ExecContext(ctx, s.db.Query("PluginRunEnded"), run, plugin, status, s.now()); err != nil {
		return fmt.Errorf("record the end of run %s: %w", run, err)
	}
	return nil
}

// CleanupResult says what a cleanup removed.
type CleanupResult struct {
	// Staged counts staging rows of runs that ended unpublished.
	Staged int64 `json:"staged"`
	// Runs are the runs pruned; Files counts their storage files.
	Runs  []string `json:"runs,omitempty"`
	Files int64    `json:"files"`
}

// Cleanup removes what ended runs leave behind. Staging rows of runs that
// are no longer active go at once: a run publishes and clears its staging
// in one transaction, so whatever a failed, terminated or stalled run
// staged is never published. Runs that ended more than the retention ago
// lose their storage files, datasets, stage rows and properties, except
// the latest successful run of each plugin and the run of its latest
// published properties: later stages, batches and other plugins' features
// still read those.
func (s *Service) Cleanup(ctx context.Context) (*CleanupResult, error) {
	res := &CleanupResult{}
	r, err := s.db.ExecContext(ctx, s.db.Query("PluginStagingSweep"))
	if err != nil {
		return nil, fmt.Errorf("discard the staging of ended runs: %w", err)
	}
	res.Staged, _ = r.RowsAffected()
	before := s.now().Add(-s.opts.Retention)
	for {
		runs, err := s.prunable(ctx, before)
		if err != nil {
			return res, err
		}
		for _, run := range runs {
			n, err := deletePrefix(ctx, s.bucket, run+"/")
			res.Files += n
			if err != nil {
				return res, fmt.Errorf("prune the files of run %s: %w", run, err)
			}
		}
		if err := s.pruneRows(ctx, runs); err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, runs...)
		if len(runs) < pruneChunk {
			return res, nil
		}
	}
}

// prunable lists runs whose leftovers may go (PluginRunsPrunable).
func (s *Service) prunable(ctx context.Context, before time.Time) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Query("PluginRunsPrunable"), before, pruneChunk)
	if err != nil {
		return nil, fmt.Errorf("find old plugin runs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// pruneRows deletes the runs' rows in one transaction, after their files:
// a cleanup interrupted in between finds the runs again by their rows.
func (s *Service) pruneRows(ctx context.Context, runs []string) error {
	if len(runs) == 0 {
		return nil
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range []string{"PluginPruneValues", "PluginPruneProperties", "PluginPruneStages", "PluginPruneDatasets",
		"PluginPruneDatasetUsers", "PluginPruneDatasetValues", "PluginPruneRuns"} {
		if _, err := tx.ExecContext(ctx, s.db.Query(q), runs); err != nil {
			return fmt.Errorf("prune old plugin runs (%s): %w", q, err)
		}
	}
	return tx.Commit()
}

// CleanupLoop runs Cleanup now and every interval until ctx ends, logging
// what it removed.
func (s *Service) CleanupLoop(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		res, err := s.Cleanup(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.opts.Log.Error("plugins: cleanup", "error", err)
		case err == nil && (res.Staged > 0 || len(res.Runs) > 0):
			s.opts.Log.Info("plugins: cleaned up", "staging_rows", res.Staged, "runs_pruned", len(res.Runs), "files", res.Files)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
