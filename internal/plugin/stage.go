package plugin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrStageNotRunning refuses an upload into a stage that is not running.
var ErrStageNotRunning = errors.New("stage is not running")

// StageError is an upload into a stage other than the current one.
type StageError struct{ Run, Stage, Status string }

func (e *StageError) Error() string {
	if e.Status == "" {
		return fmt.Sprintf("run %s has no stage %q: uploads go only into the current stage", e.Run, e.Stage)
	}
	return fmt.Sprintf("stage %q of run %s is %s: uploads go only into the current stage, while it runs", e.Stage, e.Run, e.Status)
}

func (e *StageError) Is(target error) bool { return target == ErrStageNotRunning }

// StageStatus reads a stage's status ("" if it never started).
func (s *Service) StageStatus(ctx context.Context, run, stage string) (string, error) {
	var status string
	err := s.db.QueryRowContext(ctx, s.db.Query("PluginStageStatus"), run, stage).Scan(&status)
	if err != nil && !isNoRows(err) {
		return "", fmt.Errorf("read stage %s of run %s: %w", stage, run, err)
	}
	return status, nil
}

// StageStart marks a stage running (again, when a run resumes).
func (s *Service) StageStart(ctx context.Context, run, stage string) error {
	_, err := s.db.ExecContext(ctx, s.db.Query("PluginStageStart"), run, stage, s.now())
	if err != nil {
		return fmt.Errorf("start stage %s of run %s: %w", stage, run, err)
	}
	return nil
}

// StageFinish records how a stage ended (succeeded or failed).
func (s *Service) StageFinish(ctx context.Context, run, stage, status string) error {
	_, err := s.db.ExecContext(ctx, s.db.Query("PluginStageFinish"), run, stage, status, s.now())
	if err != nil {
		return fmt.Errorf("finish stage %s of run %s: %w", stage, run, err)
	}
	return nil
}

// requireRunning refuses uploads outside the running stage.
func (s *Service) requireRunning(ctx context.Context, t Token) error {
	status, err := s.StageStatus(ctx, t.Run, t.Scope)
	if err != nil {
		return err
	}
	if status != StatusRunning {
		return &StageError{Run: t.Run, Stage: t.Scope, Status: status}
	}
	return nil
}

// Stage statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// StageRow is a stage of a run as recorded: batches appear as batch-<i>.
type StageRow struct {
	Stage      string     `json:"stage"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// StageList lists a run's stages in the order they started.
func (s *Service) StageList(ctx context.Context, run string) ([]StageRow, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Query("PluginStageList"), run)
	if err != nil {
		return nil, fmt.Errorf("list stages of run %s: %w", run, err)
	}
	defer rows.Close()
	out := []StageRow{}
	for rows.Next() {
		var r StageRow
		var fin sql.NullTime
		if err := rows.Scan(&r.Stage, &r.Status, &r.StartedAt, &fin); err != nil {
			return nil, err
		}
		r.StartedAt = r.StartedAt.UTC()
		if fin.Valid {
			t := fin.Time.UTC()
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
