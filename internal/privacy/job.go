package privacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// JobKind is the built-in job that processes privacy requests.
const JobKind = "privacy_requests"

// jobParams are the job's parameters: none.
type jobParams struct{}

// jobState is the job's checkpoint: the requests it finished. The work of
// each request is kept in its row, so a resumed run starts from the rows.
type jobState struct {
	Done []string `json:"done"`
}

// JobInfo is the job to add to the runtime's built-in jobs.
func (s *Service) JobInfo() job.Info {
	return job.Typed[jobParams, jobState](JobKind, "carry out the pending privacy requests (OpenDSR): erasures, access and portability exports, status callbacks",
		func() *processJob { return &processJob{s: s} })
}

// processJob takes one request per Perform, the oldest with work left. A
// request that fails is recorded with its error and left for the next run,
// so that it does not hold up the others; the run then ends in error.
type processJob struct {
	s      *Service
	log    *slog.Logger
	failed map[string]error
}

func (j *processJob) Prepare(_ context.Context, inv *job.Invocation, _ jobParams, _ *jobState, _ bool) (bool, error) {
	j.log, j.failed = inv.Log, map[string]error{}
	return false, nil
}

func (j *processJob) Perform(ctx context.Context, st *jobState) (bool, error) {
	r, err := nextRecord(ctx, j.s.opts.DB, j.failed)
	if errors.Is(err, store.ErrNotFound) {
		if err := j.s.sweepExports(ctx, j.log); err != nil {
			return false, err
		}
		return true, j.failures()
	}
	if err != nil {
		return false, err
	}
	if err := j.s.process(ctx, r, j.log); err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		j.failed[r.ID] = err
		j.log.Error("privacy request failed, left for the next run", "subject_request_id", r.ID, "error", err)
		if _, err := exec(ctx, j.s.opts.DB, j.s.opts.DB.Query("PrivacyRequestFailed"), r.ID, err.Error(), j.s.now()); err != nil {
			return false, err
		}
		return false, nil
	}
	if (r.Status == StatusCompleted || r.Status == StatusCancelled) && !slices.Contains(st.Done, r.ID) {
		st.Done = append(st.Done, r.ID)
	}
	return false, nil
}

// failures is the error of a run in which requests failed.
func (j *processJob) failures() error {
	if len(j.failed) == 0 {
		return nil
	}
	var errs []error
	for id, err := range j.failed {
		errs = append(errs, fmt.Errorf("privacy request %s: %w", id, err))
	}
	return errors.Join(errs...)
}

// process moves a request one status on and sends the callbacks of the
// status it reaches.
func (s *Service) process(ctx context.Context, r *record, log *slog.Logger) error {
	switch r.Status {
	case StatusPending:
		started, err := s.start(ctx, r, log)
		if err != nil || !started {
			return err // cancelled meanwhile: the next pick sends its callbacks
		}
		r.Status = StatusInProgress
		return s.notify(ctx, r, log)
	case StatusInProgress:
		if r.Notified != StatusInProgress { // resumed before its callbacks
			if err := s.notify(ctx, r, log); err != nil {
				return err
			}
		}
		if err := s.fulfil(ctx, r, log); err != nil {
			return err
		}
		r.Status = StatusCompleted
		return s.notify(ctx, r, log)
	default: // completed or cancelled, callbacks not sent yet
		return s.notify(ctx, r, log)
	}
}

// start resolves the identities and marks the request in_progress with the
// entities found; an erasure's identity values are blanked then, so the
// request does not keep what it erases. It says false when the request was
// cancelled meanwhile.
func (s *Service) start(ctx context.Context, r *record, log *slog.Logger) (bool, error) {
	live, err := s.resolve(ctx, r.Identities)
	if err != nil {
		return false, err
	}
	all, err := s.absorbed(ctx, live)
	if err != nil {
		return false, err
	}
	ids := r.Identities
	if r.Type == TypeErasure {
		ids = blankValues(r.Identities)
	}
	entities, _ := json.Marshal(entityList{Live: live, All: all})
	idsJSON, _ := json.Marshal(ids)
	ok, err := exec(ctx, s.opts.DB, s.opts.DB.Query("PrivacyRequestStart"), r.ID, string(entities), string(idsJSON), s.now())
	if err != nil || !ok {
		return false, err
	}
	log.Info("privacy request started", "subject_request_id", r.ID, "type", r.Type, "entities_found", len(live), "entities", len(all))
	r.Live, r.All, r.Identities = live, all, ids
	return true, nil
}

// blankValues are identities without their values.
func blankValues(ids []Identity) []Identity {
	out := make([]Identity, len(ids))
	for i, id := range ids {
		out[i] = Identity{Type: id.Type, Format: id.Format}
	}
	return out
}

// entityList is what privacy_requests.entities holds: the live entities
// found and those with every entity merged into them.
type entityList struct {
	Live []string `json:"live"`
	All  []string `json:"all"`
}

// resolve finds the live entities holding the identities.
func (s *Service) resolve(ctx context.Context, ids []Identity) ([]string, error) {
	db := s.opts.DB
	var live []string
	for _, id := range ids {
		query := db.Query("PrivacyIdentifierEntities")
		if id.Format == FormatSHA256 {
			query = db.Query("PrivacyIdentifierEntitiesSHA256")
		}
		var found []string
		err := eachRow(ctx, db, query, func(rows *sql.Rows) error {
			var e string
			err := rows.Scan(&e)
			found = append(found, e)
			return err
		}, id.Type, id.Value)
		if err != nil {
			return nil, fmt.Errorf("resolve identity %s (%s): %w", id.Type, id.Format, err)
		}
		for _, e := range found {
			l, err := db.EntityLive(ctx, e)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if !slices.Contains(live, l) {
				live = append(live, l)
			}
		}
	}
	slices.Sort(live)
	return orEmpty(live), nil
}

// absorbed is the entities with every entity merged into them.
func (s *Service) absorbed(ctx context.Context, live []string) ([]string, error) {
	if len(live) == 0 {
		return []string{}, nil
	}
	var out []string
	err := eachRow(ctx, s.opts.DB, s.opts.DB.Query("PrivacyAbsorbed"), func(rows *sql.Rows) error {
		var e string
		err := rows.Scan(&e)
		out = append(out, e)
		return err
	}, live)
	if err != nil {
		return nil, fmt.Errorf("find the entities merged into %d entities: %w", len(live), err)
	}
	return out, nil
}

func eachRow(ctx context.Context, db store.Executor, query string, fn func(*sql.Rows) error, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// fulfil erases or exports, then marks the request completed. Both are
// idempotent: a resumed request does them again.
func (s *Service) fulfil(ctx context.Context, r *record, log *slog.Logger) error {
	if r.Live == nil {
		return fmt.Errorf("privacy request %s is in progress without its entities", r.ID)
	}
	res := Result{EntitiesFound: len(r.Live), Entities: len(r.All)}
	switch {
	case r.Type == TypeErasure && len(r.All) == 0:
		res.Erased = &erasure.Result{} // nobody to forget
	case r.Type == TypeErasure:
		// The exports about the person go first: the erasure's physical
		// purge then covers the rows this blanks.
		if err := s.forgetExports(ctx, r.All, log); err != nil {
			return err
		}
		erased, err := erasure.Erase(ctx, s.opts.DB, r.All)
		if err != nil {
			return fmt.Errorf("erase %d entities: %w", len(r.All), err)
		}
		res.Erased = &erased
		log.Info("privacy request erased", "subject_request_id", r.ID, "entities", erased.Entities, "events", erased.Events,
			"identifiers", erased.Identifiers, "suppressed", erased.Suppressed)
	default:
		n, err := s.export(ctx, r, r.Live)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		res.Events = &n
		log.Info("privacy request exported", "subject_request_id", r.ID, "entities", len(r.Live), "events", n)
	}
	body, _ := json.Marshal(res)
	ok, err := exec(ctx, s.opts.DB, s.opts.DB.Query("PrivacyRequestComplete"), r.ID, string(body), s.now())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("privacy request %s is no longer in progress", r.ID)
	}
	r.Result = &res
	return nil
}
