package attr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Defaults of Options.
const (
	ChunkSizeDefault  = 5_000_000
	StaleAfterDefault = 48 * time.Hour
	ContextTTLDefault = 24 * time.Hour
)

// Options tune an Engine; zero values take the defaults.
type Options struct {
	// Now is the clock (injectable for tests).
	Now func() time.Time
	// ChunkSize is how many entities one statement calculates.
	ChunkSize int
	// StaleAfter recalculates entities not calculated for this long, so
	// that time-relative attributes stay fresh.
	StaleAfter time.Duration
	// ContextTTL refreshes context values older than this.
	ContextTTL time.Duration
}

// DB is what the engine needs from the store (a *store.DB): a connection
// for a run's temporary tables, and what the backend can do.
type DB interface {
	store.Executor
	Begin(ctx context.Context) (*store.Tx, error)
	Conn(ctx context.Context) (*store.Conn, error)
	Capabilities() store.Capabilities
}

// Engine calculates attributes over a store's database.
type Engine struct {
	db       DB
	caps     store.Capabilities
	defs     []Definition
	contexts []Context
	opts     Options
	mu       sync.Mutex // one run at a time in this process
	// scalars holds, by attribute id, whether the definition's value and
	// weight are one value per event (run.scalar); guarded by mu.
	scalars map[string]bool
}

// New validates the definitions and returns an engine over db.
func New(db DB, defs []Definition, contexts []Context, opts *Options) (*Engine, error) {
	if err := Validate(defs, contexts); err != nil {
		return nil, err
	}
	e := &Engine{db: db, caps: db.Capabilities(), defs: defs, contexts: contexts, scalars: map[string]bool{}}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.Now == nil {
		e.opts.Now = time.Now
	}
	if e.opts.ChunkSize <= 0 {
		e.opts.ChunkSize = ChunkSizeDefault
	}
	if e.opts.StaleAfter <= 0 {
		e.opts.StaleAfter = StaleAfterDefault
	}
	if e.opts.ContextTTL <= 0 {
		e.opts.ContextTTL = ContextTTLDefault
	}
	return e, nil
}

// enabled counts the attributes that are calculated.
func (e *Engine) enabled() int {
	n := 0
	for i := range e.defs {
		if e.defs[i].IsEnabled() {
			n++
		}
	}
	return n
}

// Definitions returns the definitions the engine calculates.
func (e *Engine) Definitions() []Definition { return e.defs }

// ValidateSQL runs every enabled definition and every context query over no
// rows, so that a bad expression is refused, naming its attribute, before
// any run.
//
// Every expression is first held to what SQL from the config may do
// (store.CheckConfigSQL), and the statements run confined, as they do in
// a run.
func (e *Engine) ValidateSQL(ctx context.Context) error {
	check := func(q string) error {
		return store.RunConfigSQL(ctx, e.db, e.caps, true, func(x store.Executor) error {
			rows, err := x.QueryContext(ctx, "SELECT * FROM ("+q+") v LIMIT 0")
			if err == nil {
				err = rows.Close()
			}
			return err
		})
	}
	for _, c := range e.contexts {
		if err := store.CheckConfigSQL(c.Query); err != nil {
			return &DefinitionError{ID: c.Key, Field: "query", ctx: true, Err: err}
		}
	}
	for i := range e.defs {
		if field, err := e.defs[i].checkSQL(); err != nil {
			return &DefinitionError{ID: e.defs[i].ID, Field: field, Err: err}
		}
	}
	for _, c := range e.contexts {
		if err := check(c.Query); err != nil {
			return &DefinitionError{ID: c.Key, Field: "query", ctx: true, Err: err}
		}
	}
	for i := range e.defs {
		d := &e.defs[i]
		if !d.IsEnabled() {
			continue
		}
		if err := check(d.query(allEntities, e.caps)); err != nil {
			return &DefinitionError{ID: d.ID, Err: err}
		}
	}
	return nil
}

// checkSQL holds each SQL field of the definition to what SQL from the
// config may do, and names the first that does more.
func (d *Definition) checkSQL() (string, error) {
	for _, f := range []struct{ name, sql string }{{"value", d.Value}, {"weight", d.Weight}, {"filter", d.Filter},
		{"outer_value", d.OuterValue}, {"outer_weight", d.OuterWeight}, {"outer_filter", d.OuterFilter}, {"query", d.Query}} {
		if err := store.CheckConfigSQL(f.sql); err != nil {
			return f.name, err
		}
	}
	return "", nil
}

// hash fingerprints a definition: a change recalculates every entity.
func (d *Definition) hash() string {
	b, _ := json.Marshal(d)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// RunOptions choose what a run does.
type RunOptions struct {
	// FromScratch deletes the values first (of Only, or all) and
	// calculates every entity.
	FromScratch bool `json:"from_scratch"`
	// RecalculateAll calculates every entity, keeping the old values until
	// each is replaced.
	RecalculateAll bool `json:"recalculate_all"`
	// Only limits the run to these attributes.
	Only []string `json:"only"`
}

// RunResult reports a run.
type RunResult struct {
	DueEntities int64             `json:"due_entities"`
	Attributes  []AttributeResult `json:"attributes"`
	Contexts    []ContextResult   `json:"contexts"`
	DurationMS  float64           `json:"duration_ms"`
	// PhasesMS says where the time went: contexts, copy_events,
	// stage_events and stage_set_values (the staging tables the
	// attributes read, stage.go), stage_custom_base, replace_values (of
	// which find_old_values), mark_calculated, save_state, cleanup,
	// caches, view (the attributes' own times are in Attributes).
	PhasesMS map[string]float64 `json:"phases_ms"`
}

// AttributeResult is one attribute's part of a run.
type AttributeResult struct {
	ID     string `json:"id"`
	Status string `json:"status"` // ok, error
	Error  string `json:"error,omitempty"`
	// Full says every entity was calculated (new or changed definition,
	// from scratch, recalculate_all with only).
	Full       bool    `json:"full"`
	Entities   int64   `json:"entities"`
	Rows       int64   `json:"rows"`
	DurationMS float64 `json:"duration_ms"`
	// CastFailures counts the events whose value did not convert in a
	// cast of the attribute's expressions and counted as NULL (safecast.go);
	// CastFailureEventID is one of them.
	CastFailures       int64  `json:"cast_failures,omitempty"`
	CastFailureEventID string `json:"cast_failure_event_id,omitempty"`
}

// ErrUnknownAttribute is returned for an Only naming no enabled attribute.
var ErrUnknownAttribute = errors.New("unknown or disabled attribute")

// Run calculates the due entities' attributes.
func (e *Engine) Run(ctx context.Context, ro RunOptions) (*RunResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	began := time.Now()
	start := e.opts.Now().UTC().Truncate(time.Microsecond)
	defs, err := e.selected(ro.Only)
	if err != nil {
		return nil, err
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res := &RunResult{PhasesMS: map[string]float64{}}
	r := &run{e: e, conn: conn, start: start, only: len(ro.Only) > 0, phases: res.PhasesMS, deltas: deltas{}}
	if err := r.prepare(ctx, defs, ro); err != nil {
		return nil, err
	}
	rebuilt, err := r.rebuilt(ctx)
	if err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	// A run that changed values and failed before writing the caches
	// (its retry finds nothing due) left them stale: count them again.
	if err := r.conn.QueryRowContext(ctx, r.conn.Query("AttrCachesStaleGet")).Scan(&r.stale); err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	stale := r.stale
	full, incremental, err := r.split(ctx, defs)
	if err != nil {
		return nil, err
	}
	// Contexts are refreshed only when there is something to calculate:
	// a value taken over an empty base (a server started before its first
	// events) would otherwise stand for 24 hours.
	work, err := r.hasWork(ctx, len(full) > 0)
	if err != nil {
		return nil, err
	}
	if work {
		done := r.timer("contexts")
		res.Contexts, err = r.refreshContexts(ctx)
		done()
		if err != nil {
			return nil, err
		}
	}
	results := map[string]*AttributeResult{}
	for _, d := range defs {
		results[d.ID] = &AttributeResult{ID: d.ID, Status: "ok", Full: slices.Contains(full, d)}
	}
	if res.DueEntities, err = r.calculate(ctx, incremental, results, false); err != nil {
		return nil, err
	}
	if _, err := r.calculate(ctx, full, results, true); err != nil {
		return nil, err
	}
	for _, d := range defs {
		res.Attributes = append(res.Attributes, *results[d.ID])
	}
	done := r.timer("view")
	viewChanged, err := r.updateView(ctx)
	done()
	if err != nil {
		return nil, err
	}
	// With nothing calculated and the attribute set unchanged, the
	// values and caches are as they were: a quiet run costs little.
	if res.DueEntities > 0 || len(full) > 0 || viewChanged || ro.FromScratch || stale {
		done := r.timer("cleanup")
		err := r.cleanup(ctx, rebuilt || ro.FromScratch || stale, ro.FromScratch, viewChanged)
		done()
		if err != nil {
			return nil, err
		}
		done = r.timer("caches")
		err = r.updateCaches(ctx, r.recount)
		done()
		if err != nil {
			return nil, err
		}
	}
	if err := r.saveState(ctx, defs, results); err != nil {
		return nil, err
	}
	res.DurationMS = float64(time.Since(began).Microseconds()) / 1000
	return res, nil
}

// selected returns the enabled definitions, or those named in only.
func (e *Engine) selected(only []string) ([]*Definition, error) {
	var out []*Definition
	for i := range e.defs {
		d := &e.defs[i]
		if d.IsEnabled() && (len(only) == 0 || slices.Contains(only, d.ID)) {
			out = append(out, d)
		}
	}
	for _, id := range only {
		if !slices.ContainsFunc(out, func(d *Definition) bool { return d.ID == id }) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownAttribute, id)
		}
	}
	return out, nil
}
