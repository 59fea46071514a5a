package destination

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Service reads the destinations' state and asks for replays: what the
// API serves under /v1/destinations.
type Service struct {
	deps *Deps
	// trigger starts a run of a destination's job.
	trigger func(ctx context.Context, job string) (*store.JobRun, error)
}

// NewService returns the service over deps; trigger starts a run of a job
// by name (the pipeline's job runtime).
func NewService(deps *Deps, trigger func(ctx context.Context, job string) (*store.JobRun, error)) *Service {
	return &Service{deps: deps, trigger: trigger}
}

// Status is a destination with its position and recent runs.
type Status struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Job is the job the destination runs as (destination:<id>).
	Job        string     `json:"job"`
	Definition Definition `json:"definition"`
	// Cursor is the last segment change sent or passed (0 before the
	// first).
	Cursor int64 `json:"cursor"`
	// Pending counts what waits: the changes of its segments after the
	// cursor, or for a webhook without segments the changed profiles
	// queued by its last run.
	Pending int64 `json:"pending"`
	// LastRuns are the job's latest runs, newest first.
	LastRuns []*store.JobRun `json:"last_runs"`
	// DeadLetters counts the dead letters no replay delivered.
	DeadLetters int64 `json:"dead_letters"`
}

// runsInList and runsInShow are how many runs List and Get show.
const (
	runsInList = 3
	runsInShow = 10
)

// List returns every destination in force, in the order of weft.yaml.
func (s *Service) List(ctx context.Context) ([]Status, error) {
	cfg, err := s.deps.Config(ctx)
	if err != nil {
		return nil, err
	}
	dead, err := s.deadCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(cfg.Destinations))
	for i := range cfg.Destinations {
		st, err := s.status(ctx, &cfg.Destinations[i], runsInList)
		if err != nil {
			return nil, err
		}
		st.DeadLetters = dead[st.ID]
		out = append(out, *st)
	}
	return out, nil
}

// Get returns one destination, or an error matching store.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Status, error) {
	d, err := s.find(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := s.status(ctx, d, runsInShow)
	if err != nil {
		return nil, err
	}
	dead, err := s.deadCounts(ctx)
	st.DeadLetters = dead[id]
	return st, err
}

func (s *Service) find(ctx context.Context, id string) (*Definition, error) {
	cfg, err := s.deps.Config(ctx)
	if err != nil {
		return nil, err
	}
	d := Find(cfg.Destinations, id)
	if d == nil {
		return nil, fmt.Errorf("%w %q: no such destination in the config in force: %w", ErrUnknown, id, store.ErrNotFound)
	}
	return d, nil
}

func (s *Service) status(ctx context.Context, d *Definition, runs int) (*Status, error) {
	db := s.deps.DB
	st := &Status{ID: d.ID, Type: d.Type, Job: JobName(d.ID), Definition: *d}
	if err := db.QueryRowContext(ctx, db.Query("DestinationCursorGet"), d.ID).Scan(&st.Cursor); err != nil {
		return nil, fmt.Errorf("read the cursor of %s: %w", d.ID, err)
	}
	var err error
	switch {
	case len(d.Segments) > 0:
		err = db.QueryRowContext(ctx, db.Query("DestinationChangesPending"), st.Cursor, d.Segments).Scan(&st.Pending)
	case d.Type == TypeWebhook:
		err = db.QueryRowContext(ctx, db.Query("DestinationProfilesPending"), d.ID).Scan(&st.Pending)
	}
	if err != nil {
		return nil, fmt.Errorf("count what %s has pending: %w", d.ID, err)
	}
	list, err := db.JobRunList(ctx, &store.JobRunListParams{Job: st.Job, Limit: runs})
	if err != nil {
		return nil, err
	}
	st.LastRuns = list
	if st.LastRuns == nil {
		st.LastRuns = []*store.JobRun{}
	}
	return st, nil
}

func (s *Service) deadCounts(ctx context.Context) (map[string]int64, error) {
	db := s.deps.DB
	out, err := store.Counts(ctx, db, db.Query("DestinationDeadLetterCounts"))
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	return out, nil
}

// DeadLettersLimitMax bounds one page of DeadLetters.
const DeadLettersLimitMax = 1000

// DeadLetters pages through a destination's dead letters by id, after
// the id after.
func (s *Service) DeadLetters(ctx context.Context, id string, after int64, limit int) ([]DeadLetter, error) {
	if _, err := s.find(ctx, id); err != nil {
		return nil, err
	}
	db := s.deps.DB
	rows, err := db.QueryContext(ctx, db.Query("DestinationDeadLetterList"), id, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	out := []DeadLetter{}
	for rows.Next() {
		var dl DeadLetter
		var req string
		var asked, replayed sql.NullTime
		if err := rows.Scan(&dl.ID, &dl.IdempotencyKey, &dl.Items, &req, &dl.Status, &dl.Answer, &dl.CreatedAt, &asked, &replayed); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		dl.Request, dl.CreatedAt = []byte(req), dl.CreatedAt.UTC()
		dl.ReplayRequestedAt, dl.ReplayedAt = utcPtr(asked), utcPtr(replayed)
		out = append(out, dl)
	}
	return out, rows.Err()
}

func utcPtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// ErrNoDeadLetters is a replay asked of a destination that keeps none.
var ErrNoDeadLetters = errors.New("only webhooks keep dead letters")

// Replayed is what Replay did.
type Replayed struct {
	// Replaying counts the dead letters marked to be sent again.
	Replaying int64 `json:"replaying"`
	// Run is the run of the destination's job that sends them (none when
	// nothing was marked).
	Run *store.JobRun `json:"run,omitempty"`
}

// Replay marks dead letters of a destination (ids, or all not yet
// delivered when ids is empty) to be sent again, and starts a run of its
// job, which sends them first, each under its own idempotency key.
func (s *Service) Replay(ctx context.Context, id string, ids []int64) (*Replayed, error) {
	d, err := s.find(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.Type != TypeWebhook {
		return nil, fmt.Errorf("destination %s is a %s: %w", id, d.Type, ErrNoDeadLetters)
	}
	db := s.deps.DB
	var res sql.Result
	if len(ids) == 0 {
		res, err = db.ExecContext(ctx, db.Query("DestinationDeadLetterReplayAll"), id, s.deps.now())
	} else {
		res, err = db.ExecContext(ctx, db.Query("DestinationDeadLetterReplayIDs"), id, s.deps.now(), ids)
	}
	if err != nil {
		return nil, fmt.Errorf("mark dead letters for replay: %w", err)
	}
	out := &Replayed{}
	if out.Replaying, err = res.RowsAffected(); err != nil || out.Replaying == 0 {
		return out, err
	}
	out.Run, err = s.trigger(ctx, JobName(id))
	return out, err
}
