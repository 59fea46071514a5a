package segment

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// EventSource is the source of the events the segments job appends:
// segment_entered and segment_exited, version 1.
const EventSource = "weft"

// Event types of membership changes.
const (
	EventEntered = "segment_entered"
	EventExited  = "segment_exited"
)

// MarginDefault is how far before the previous run's time an incremental
// run looks for changed inputs: a stitching or attribute transaction that
// began before that run and committed after it is still seen.
const MarginDefault = 5 * time.Minute

// Options tune an Engine.
type Options struct {
	// Now is the clock (default time.Now): the run's time, which relative
	// windows and dates are measured from.
	Now func() time.Time
	// Margin is MarginDefault when zero.
	Margin time.Duration
}

// Engine computes the members of a config's segments.
type Engine struct {
	db   *store.DB
	caps store.Capabilities
	defs []Definition
	env  *Env
	opts Options
}

// New returns the engine of a config's segments, validated already.
func New(db *store.DB, defs []Definition, env *Env, opts *Options) *Engine {
	e := &Engine{db: db, caps: db.Capabilities(), defs: defs, env: env}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.Now == nil {
		e.opts.Now = time.Now
	}
	if e.opts.Margin == 0 {
		e.opts.Margin = MarginDefault
	}
	return e
}

// RunOptions are the segments job's parameters.
type RunOptions struct {
	// Full computes every segment over all entities, as after a change
	// of definition.
	Full bool `json:"full,omitempty"`
	// Segments limits the run to these segments (default all).
	Segments []string `json:"segments,omitempty"`
}

// RunResult is what a run of the segments job did.
type RunResult struct {
	RunID      string          `json:"run_id"`
	Segments   []SegmentResult `json:"segments"`
	DurationMS float64         `json:"duration_ms"`
	// PhasesMS adds up the time of the parts of the run that are no one
	// segment's: the fill of the kept per-event values ("event values")
	// and the write of every segment's changes, members and events.
	PhasesMS map[string]float64 `json:"phases_ms,omitempty"`
}

// timer starts timing a phase of the run; calling what it returns stops it.
func (res *RunResult) timer(phase string) func() {
	began := time.Now()
	return func() {
		if res.PhasesMS == nil {
			res.PhasesMS = map[string]float64{}
		}
		res.PhasesMS[phase] += ms(time.Since(began))
	}
}

// SegmentResult is one segment's part of a run (a row of segment_runs).
type SegmentResult struct {
	ID         string  `json:"id"`
	Full       bool    `json:"full"`
	Candidates int64   `json:"candidates,omitempty"`
	Size       int64   `json:"size"`
	Entered    int64   `json:"entered"`
	Exited     int64   `json:"exited"`
	Status     string  `json:"status"`
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// PhasesMS adds up the time of the parts of the segment's run.
	PhasesMS map[string]float64 `json:"phases_ms,omitempty"`
}

// timer starts timing a phase of sr; calling what it returns stops it.
func (sr *SegmentResult) timer(phase string) func() {
	began := time.Now()
	return func() {
		if sr.PhasesMS == nil {
			sr.PhasesMS = map[string]float64{}
		}
		sr.PhasesMS[phase] += ms(time.Since(began))
	}
}

// state is a segment's row of segment_state.
type state struct {
	hash string
	at   time.Time
	snap snapshot
}

// snapshot is the entities' count and greatest created_seq at a run's
// start: fewer entities of at most that created_seq later means some were
// erased since.
type snapshot struct{ count, maxSeq int64 }

// Run computes the segments: fully those whose definition changed (or all
// with ro.Full), incrementally the others. The changes of every segment
// computed are written at the end, with the members, events, run rows and
// states, in one transaction (one statement per table for all segments,
// rather than one per segment: a full run writes millions of rows), so a
// run killed at any point and run again gives the same state, without
// repeated changes. A segment whose computation fails is recorded with its
// error and the others go on; if the write fails, every segment of the run
// is recorded with that error.
func (e *Engine) Run(ctx context.Context, runID string, ro RunOptions) (*RunResult, error) {
	began := time.Now()
	now := e.opts.Now().UTC().Truncate(time.Microsecond)
	res := &RunResult{RunID: runID, Segments: []SegmentResult{}}
	for _, id := range ro.Segments {
		if !slices.ContainsFunc(e.defs, func(d Definition) bool { return d.ID == id }) {
			return nil, fmt.Errorf("segments: unknown segment %q", id)
		}
	}
	if len(e.defs) == 0 {
		return res, nil
	}
	props, err := properties(ctx, e.db)
	if err != nil {
		return nil, err
	}
	states, err := e.states(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := e.db.EventTypeRegisterMany(ctx, []store.EventTypeKey{
		{SourceID: EventSource, Type: EventEntered, Version: "1"}, {SourceID: EventSource, Type: EventExited, Version: "1"}}); err != nil {
		return nil, fmt.Errorf("segments: register event types: %w", err)
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	r := &run{e: e, conn: conn, now: now, runID: runID, props: props, done: map[string]bool{}}
	defer r.dropTemp(ctx)
	if err := r.createTemp(ctx); err != nil {
		return nil, err
	}
	if err := conn.QueryRowContext(ctx, conn.Query("SegmentEntitySnapshot")).Scan(&r.snap.count, &r.snap.maxSeq); err != nil {
		return nil, fmt.Errorf("segments: count entities: %w", err)
	}
	var plans []*plan
	for _, d := range dependenciesFirst(e.defs) {
		if len(ro.Segments) > 0 && !slices.Contains(ro.Segments, d.ID) {
			continue
		}
		st, ok := states[d.ID]
		plans = append(plans, r.plan(ctx, d, st, ok && !ro.Full))
	}
	r.keepValues(ctx, plans, res)
	r.addMoved(ctx, plans)
	r.copyCandidates(ctx, plans)
	var computed []*plan
	for _, p := range plans {
		r.segment(ctx, p)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if p.sr.Status == "ok" {
			r.done[p.d.ID] = true
			computed = append(computed, p)
		}
	}
	if err := r.write(ctx, computed, res); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, p := range computed {
			r.fail(ctx, p, fmt.Errorf("write: %w", err))
		}
	}
	results := map[string]SegmentResult{}
	for _, p := range plans {
		results[p.d.ID] = p.sr
	}
	// The results in the config's order.
	for _, d := range e.defs {
		if sr, ok := results[d.ID]; ok {
			res.Segments = append(res.Segments, sr)
		}
	}
	res.DurationMS = ms(time.Since(began))
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (e *Engine) states(ctx context.Context) (map[string]state, error) {
	rows, err := e.db.QueryContext(ctx, e.db.Query("SegmentStateList"))
	if err != nil {
		return nil, fmt.Errorf("segments: read state: %w", err)
	}
	defer rows.Close()
	out := map[string]state{}
	for rows.Next() {
		var id string
		var s state
		if err := rows.Scan(&id, &s.hash, &s.at, &s.snap.count, &s.snap.maxSeq); err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, rows.Err()
}

// properties lists the published plugin properties.
func properties(ctx context.Context, x store.Executor) ([]plugin.Property, error) {
	rows, err := x.QueryContext(ctx, x.Query("PluginPropertyList"))
	if err != nil {
		return nil, fmt.Errorf("segments: list plugin properties: %w", err)
	}
	defer rows.Close()
	var out []plugin.Property
	for rows.Next() {
		var p plugin.Property
		if err := rows.Scan(&p.ID, &p.Plugin, &p.RunID, &p.Name, &p.Category, &p.Type, &p.Entities, &p.PublishedAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// run is one Engine.Run on one connection (the temporary tables seg_cand,
// seg_new and seg_diff are of that connection).
type run struct {
	e     *Engine
	conn  *store.Conn
	now   time.Time
	runID string
	props []plugin.Property
	snap  snapshot
	// changed is what seg_changed holds: the entities changed since
	// (and the gone members, with gone), for the segments whose last run
	// had the same time and snapshot (usually all).
	changed *state
	// done are the segments this run computed: segment_members with their
	// changes in seg_diff gives their members now, which the segments
	// referring to them read instead of computing them again.
	done map[string]bool
	// indexed are the temporary tables statistics made an index on.
	indexed map[string]bool
	// preview is a preview's run: its fills do not wait for the
	// stitching lock (run.lockStitching).
	preview bool
	// candsIn names the candidates seg_cand holds ("" for none known),
	// candsCount how many (run.fillCands).
	candsIn    string
	candsCount int64
	// copied is whether the candidates' rows were copied (local.go).
	copied bool
}

// createTemp makes the temporary tables; seg_cand confined, as the
// members' query (config SQL) reads it.
func (r *run) createTemp(ctx context.Context) error {
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
		// seg_cand anew, without the index an earlier run on this
		// connection may have made (run.statistics); seg_diff anew, and
		// made confined, as the members' query reads it (a segment's
		// reference to one computed before it).
		for _, t := range []string{"seg_cand", "seg_diff"} {
			if _, err := x.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
				return err
			}
		}
		for _, q := range []string{"SegmentTempCreate", "SegmentCandsCreate", "SegmentDiffCreate"} {
			if _, err := x.ExecContext(ctx, x.Query(q)); err != nil {
				return err
			}
		}
		return nil
	})
	for _, q := range []string{"SegmentChangedCreate", "SegmentIdentCreate", "SegmentIdentClear", "SegmentCandsClear", "SegmentMovedCreate", "SegmentMovedClear"} {
		if err == nil {
			_, err = r.conn.ExecContext(ctx, r.conn.Query(q))
		}
	}
	if err != nil {
		return fmt.Errorf("segments: create temporary tables: %w", err)
	}
	return nil
}

// runTemp are the temporary tables a run or a preview may make.
var runTemp = append([]string{"seg_cand", "seg_diff", "seg_changed", "seg_cands", "seg_moved", "seg_ident", "seg_props",
	"seg_fill", "seg_new"}, localTables...)

// dropTemp drops the temporary tables of the run: its connection goes back
// to the pool, where a table would keep its rows in memory until a later
// run on that connection cleared them (a full run's changes and their
// identifiers, millions of rows: clearing them took the incremental run
// that followed 40 to 240 ms). Best effort: a table left is cleared as
// before.
func (r *run) dropTemp(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for _, t := range runTemp {
		if _, err := r.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return
		}
	}
}

// plan is one segment's part of a run, decided before any is computed.
type plan struct {
	d *Definition
	// planned is how long deciding and finding candidates took.
	planned     time.Duration
	comp        *compiler
	hash        string
	began       time.Time
	incremental bool
	sr          SegmentResult
	// since is when an incremental run looks for changes from.
	since time.Time
	// cands names the source of an incremental plan's candidates (the
	// changes since a state, and the moved windows): plans of one name
	// have the same candidates, which seg_cand then holds once for them.
	cands string
	// err, when set, fails the segment before it is computed.
	err error
}

// plan decides whether a segment runs incrementally and, if so, puts its
// candidates in seg_cands: the entities whose inputs changed since its
// last run (run.addMoved adds those a relative window moved over).
func (r *run) plan(ctx context.Context, d *Definition, st state, incremental bool) *plan {
	p := &plan{d: d, began: time.Now(), comp: newCompiler(r.e.caps, r.e.env, r.e.defs, r.props, r.now)}
	p.comp.done = r.done
	p.hash = p.comp.hash(d)
	since := st.at.Add(-r.e.opts.Margin)
	if incremental && st.hash != p.hash {
		incremental = false
	}
	// A property published since: its values all changed.
	for _, ref := range p.comp.usesProperties(&d.Condition) {
		if pr, ok := p.comp.resolve(ref); ok && !pr.PublishedAt.Before(since) {
			incremental = false
		}
	}
	p.incremental = incremental
	p.sr = SegmentResult{ID: d.ID, Full: !incremental, Status: "ok"}
	if incremental {
		stop := p.sr.timer("candidates")
		p.err = r.findChanged(ctx, st, since)
		if p.err == nil {
			if _, err := r.conn.ExecContext(ctx, r.conn.Query("SegmentCandsFromChanged"), p.d.ID); err != nil {
				p.err = fmt.Errorf("changed entities: %w", err)
			}
		}
		p.since = since
		p.cands = fmt.Sprint(st.at.UnixNano(), "/", st.snap.count, "/", st.snap.maxSeq)
		stop()
	}
	p.planned = time.Since(p.began)
	return p
}

// addMoved adds to the candidates of the plans that run incrementally the
// entities a relative window or date of their conditions moved over since
// their last run, found by one query for all of them (each query scans the
// log): every such plan gets the entities of all the plans' windows, more
// candidates than its own for some, which changes no result (a candidate
// is evaluated as in a full run). On failure, those plans fail.
func (r *run) addMoved(ctx context.Context, plans []*plan) {
	var m moved
	var with []*plan
	for _, p := range plans {
		if !p.incremental || p.err != nil {
			continue
		}
		if m.add(p.comp, &p.d.Condition, p.since) {
			with = append(with, p)
		}
	}
	if len(with) == 0 {
		return
	}
	began := time.Now()
	_, err := r.conn.ExecContext(ctx, "INSERT INTO seg_moved (query_no, entity_id) SELECT 0, entity_id FROM ("+m.query()+") m")
	for _, p := range with {
		if err == nil {
			_, err = r.conn.ExecContext(ctx, r.conn.Query("SegmentCandsFromMoved"), p.d.ID, 0)
		}
		p.cands += "+moved"
	}
	if err != nil {
		for _, p := range with {
			p.err = fmt.Errorf("windows moved: %w", err)
		}
	}
	// The query is the first such plan's.
	d := time.Since(began)
	with[0].planned += d
	if with[0].sr.PhasesMS == nil {
		with[0].sr.PhasesMS = map[string]float64{}
	}
	with[0].sr.PhasesMS["candidates"] += ms(d)
}

// segment computes one segment: its changes go to seg_diff.
func (r *run) segment(ctx context.Context, p *plan) {
	// The segment's time: its planning and its own work, not the others'.
	p.began = time.Now().Add(-p.planned - time.Duration(p.sr.PhasesMS["copy candidates"]*float64(time.Millisecond)))
	err := p.err
	if err == nil {
		err = r.compute(ctx, p.comp, p.d, &p.sr, p.cands)
	}
	p.sr.DurationMS = ms(time.Since(p.began))
	if err != nil {
		// What it found goes: the members stay as they were.
		if _, derr := r.conn.ExecContext(ctx, r.conn.Query("SegmentDiffClear"), p.d.ID); derr != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w; dropping its changes: %v", err, derr)
		}
		r.fail(ctx, p, err)
	}
}

// fail records a segment's failure in a run row of its own.
func (r *run) fail(ctx context.Context, p *plan, err error) {
	sr := &p.sr
	sr.Status, sr.Error = "error", err.Error()
	sr.Entered, sr.Exited = 0, 0
	sr.DurationMS = ms(time.Since(p.began))
	if _, werr := r.e.db.ExecContext(ctx, r.e.db.Query("SegmentRunInsert"), p.d.ID, r.runID, sr.Full, sr.Size, int64(0), int64(0),
		sr.Status, sr.Error, sr.DurationMS, time.Now().UTC()); werr != nil && ctx.Err() == nil {
		sr.Error += "; recording the failure: " + werr.Error()
	}
}

// compute fills seg_new with the members (of the candidates, in an
// incremental run) and seg_diff with the changes; a full run of a segment
// without members puts them in seg_diff directly.
func (r *run) compute(ctx context.Context, comp *compiler, d *Definition, sr *SegmentResult, cands string) error {
	exec := func(what, q string, args ...any) error {
		if _, err := r.conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	stop := sr.timer("candidates")
	if sr.Full || cands != r.candsIn {
		r.candsIn = ""
		if err := exec("clear candidates", r.conn.Query("SegmentCandClear")); err != nil {
			return err
		}
	}
	if !sr.Full {
		if r.candsIn == "" {
			if err := r.fillCands(ctx, d.ID); err != nil {
				return err
			}
			r.candsIn = cands
		}
		sr.Candidates = r.candsCount
		comp.cand, comp.local = "seg_cand", true
	}
	if err := r.loadProperties(ctx, comp, &d.Condition); err != nil {
		return err
	}
	stop()
	q, err := comp.query(&d.Condition)
	if err != nil {
		return err
	}
	if sr.Full {
		var has bool
		if err := r.conn.QueryRowContext(ctx, r.conn.Query("SegmentMembersAny"), d.ID).Scan(&has); err != nil {
			return fmt.Errorf("members: %w", err)
		}
		if !has {
			// Its first computation: every member entered, and none
			// exited. The members go to seg_diff straight away, without
			// a copy in seg_new and a comparison with no members.
			defer sr.timer("members")()
			err := store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
				_, err := x.ExecContext(ctx, "INSERT INTO seg_diff (segment_id, entity_id, change) SELECT "+quote(d.ID)+", n.entity_id, 'entered' FROM ("+q+") n")
				return err
			})
			if err != nil {
				return fmt.Errorf("members: %w", err)
			}
			return nil
		}
	}
	stop = sr.timer("members")
	err = store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
		if _, err := x.ExecContext(ctx, "DROP TABLE IF EXISTS seg_new"); err != nil {
			return err
		}
		_, err := x.ExecContext(ctx, "CREATE TEMP TABLE seg_new AS "+q)
		return err
	})
	stop()
	if err != nil {
		return fmt.Errorf("members: %w", err)
	}
	defer sr.timer("diff")()
	if !sr.Full {
		return exec("changes", r.conn.Query("SegmentDiffCandidates"), d.ID)
	}
	if err := exec("entered", r.conn.Query("SegmentDiffEntered"), d.ID); err != nil {
		return err
	}
	return exec("exited", r.conn.Query("SegmentDiffExitedAll"), d.ID)
}

// fillCands puts a segment's candidates in seg_cand, with their count in
// r.candsCount. The plans that follow with the same candidates (plan.cands)
// use them as they are: most segments of a run have the same, and filling
// them again cost 3-4 ms a segment.
func (r *run) fillCands(ctx context.Context, id string) error {
	if _, err := r.conn.ExecContext(ctx, r.conn.Query("SegmentCandFromCands"), id); err != nil {
		return fmt.Errorf("candidates: %w", err)
	}
	if err := r.statistics(ctx, "seg_cand"); err != nil {
		return err
	}
	if err := r.conn.QueryRowContext(ctx, r.conn.Query("SegmentCandidatesCount")).Scan(&r.candsCount); err != nil {
		return fmt.Errorf("count candidates: %w", err)
	}
	return nil
}

// statistics gives the planner the statistics of a temporary table just
// filled, on an engine that needs them (store.Capabilities.IndexAfterCopy:
// PostgreSQL never analyzes temporary tables by itself, and without
// statistics it joins them by nested loops). Its index is made once.
func (r *run) statistics(ctx context.Context, table string) error {
	stmts := r.e.caps.IndexAfterCopy(table, "entity_id")
	if len(stmts) == 0 {
		return nil
	}
	if r.indexed == nil {
		r.indexed = map[string]bool{}
	}
	if r.indexed[table] {
		// The index is there: the statistics only.
		stmts = stmts[len(stmts)-1:]
	}
	err := store.RunConfigSQL(ctx, r.conn, r.e.caps, false, func(x store.Executor) error {
		for _, q := range stmts {
			if _, err := x.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("statistics of %s: %w", table, err)
	}
	r.indexed[table] = true
	return nil
}

// findChanged fills seg_changed with the entities whose inputs changed
// since, and the members whose entity is gone when some entity was
// erased since the run of st, unless it holds them already.
func (r *run) findChanged(ctx context.Context, st state, since time.Time) error {
	if r.changed != nil && r.changed.at.Equal(st.at) && r.changed.snap == st.snap {
		return nil
	}
	r.changed = nil
	if _, err := r.conn.ExecContext(ctx, r.conn.Query("SegmentChangedClear")); err != nil {
		return fmt.Errorf("clear changed entities: %w", err)
	}
	if _, err := r.conn.ExecContext(ctx, r.conn.Query("SegmentCandidatesChanged"), since); err != nil {
		return fmt.Errorf("changed entities: %w", err)
	}
	var still int64
	if err := r.conn.QueryRowContext(ctx, r.conn.Query("SegmentEntitiesUpTo"), st.snap.maxSeq).Scan(&still); err != nil {
		return fmt.Errorf("count entities: %w", err)
	}
	if still < st.snap.count {
		if _, err := r.conn.ExecContext(ctx, r.conn.Query("SegmentCandidatesGone")); err != nil {
			return fmt.Errorf("gone members: %w", err)
		}
	}
	r.changed = &st
	return nil
}

// write records the changes of the segments computed, in seg_diff, in
// one transaction: the change rows, the members, the events, and each
// segment's run row and state.
func (r *run) write(ctx context.Context, ps []*plan, res *RunResult) error {
	if len(ps) == 0 {
		return nil
	}
	counts, err := r.diffCounts(ctx)
	if err != nil {
		return err
	}
	var entered, exited int64
	for _, c := range counts {
		entered, exited = entered+c[0], exited+c[1]
	}
	if entered+exited > 0 {
		if err := r.lookUpIdentifiers(ctx, res, entered+exited, r.copied && allIncremental(ps)); err != nil {
			return err
		}
	}
	var written time.Time
	defer func() {
		// The commit's time: from the end of the transaction's statements.
		if !written.IsZero() {
			if res.PhasesMS == nil {
				res.PhasesMS = map[string]float64{}
			}
			res.PhasesMS["commit"] += ms(time.Since(written))
		}
	}()
	return r.e.db.EventAppendIn(ctx, r.conn, func(tx store.ExecutorTx) error {
		defer func() { written = time.Now() }()
		step := func(what, name string, args ...any) error {
			defer res.timer(what)()
			if _, err := tx.ExecContext(ctx, tx.Query(name), args...); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		}
		var maxSeq int64
		if err := tx.QueryRowContext(ctx, tx.Query("SegmentChangesMaxSeq")).Scan(&maxSeq); err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		if entered+exited > 0 {
			// Without changes the members' table is not touched.
			seqs, err := r.reserveSeqs(ctx, tx)
			if err != nil {
				return fmt.Errorf("record changes: %w", err)
			}
			if seqs != nil {
				err = step("record changes", "SegmentChangesInsertNumbered", r.now, r.runID, seqs.changes)
			} else {
				err = step("record changes", "SegmentChangesInsert", r.now, r.runID)
			}
			if err != nil {
				return err
			}
			if exited > 0 {
				stop := res.timer("end memberships")
				_, err := tx.ExecContext(ctx, exitStatement(tx.Query("SegmentMembersExit"), counts))
				stop()
				if err != nil {
					return fmt.Errorf("end memberships: %w", err)
				}
			}
			if entered > 0 {
				if err := step("begin memberships", "SegmentMembersEnter", r.now); err != nil {
					return err
				}
			}
			if seqs != nil {
				err = step("append events", "SegmentEventsAppendNumbered", r.now, r.runID, seqs.changes, seqs.events, time.Now().UTC())
			} else {
				err = step("append events", "SegmentEventsAppend", maxSeq, time.Now().UTC())
			}
			if err != nil {
				return err
			}
		}
		sizes, err := r.sizes(ctx, tx, ps)
		if err != nil {
			return err
		}
		defer res.timer("record runs")()
		return r.recordRuns(ctx, tx, ps, counts, sizes)
	})
}

// recordRuns writes the run rows and the states of the segments written,
// a statement for all of each rather than two per segment.
func (r *run) recordRuns(ctx context.Context, tx store.ExecutorTx, ps []*plan, counts map[string][2]int64, sizes map[string]int64) error {
	var (
		ids, hashes           []string
		full                  []bool
		size, entered, exited []int64
		durations             []float64
	)
	for _, p := range ps {
		sr := &p.sr
		sr.Entered, sr.Exited, sr.Size = counts[p.d.ID][0], counts[p.d.ID][1], sizes[p.d.ID]
		ids, hashes, full = append(ids, p.d.ID), append(hashes, p.hash), append(full, sr.Full)
		size, entered, exited = append(size, sr.Size), append(entered, sr.Entered), append(exited, sr.Exited)
		durations = append(durations, sr.DurationMS)
	}
	if _, err := tx.ExecContext(ctx, tx.Query("SegmentRunsInsertOK"), ids, r.runID, full, size, entered, exited, durations,
		time.Now().UTC()); err != nil {
		return fmt.Errorf("record runs: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.Query("SegmentStateSave"), ids, hashes, r.now, r.runID, r.snap.count, r.snap.maxSeq); err != nil {
		return fmt.Errorf("save states: %w", err)
	}
	return nil
}

// exitStatement is the statement that ends the exited memberships (q):
// narrowed to the segments with exits, named as constants. The members
// lie together by segment, so DuckDB tests the constants in its scan and
// skips the other segments' rows: 17 to 35 ms of CPU for 20 exits of 4.7M
// members, against 84 to 196 ms testing every row's entity.
func exitStatement(q string, counts map[string][2]int64) string {
	var ids []string
	for id, c := range counts {
		if c[1] > 0 {
			ids = append(ids, quote(id))
		}
	}
	slices.Sort(ids)
	return q + " AND segment_id IN (" + strings.Join(ids, ", ") + ")"
}

// diffCounts are each segment's entered and exited entities in seg_diff.
func (r *run) diffCounts(ctx context.Context) (map[string][2]int64, error) {
	rows, err := r.conn.QueryContext(ctx, r.conn.Query("SegmentDiffCounts"))
	if err != nil {
		return nil, fmt.Errorf("count changes: %w", err)
	}
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var id, change string
		var n int64
		if err := rows.Scan(&id, &change, &n); err != nil {
			return nil, fmt.Errorf("count changes: %w", err)
		}
		c := out[id]
		if change == "entered" {
			c[0] = n
		} else {
			c[1] = n
		}
		out[id] = c
	}
	return out, rows.Err()
}

// sizes are the segments' member counts, as the write leaves them.
func (r *run) sizes(ctx context.Context, tx store.ExecutorTx, ps []*plan) (map[string]int64, error) {
	all, err := store.Counts(ctx, tx, tx.Query("SegmentMembersCounts"))
	if err != nil {
		return nil, fmt.Errorf("count members: %w", err)
	}
	out := make(map[string]int64, len(ps))
	for _, p := range ps {
		out[p.d.ID] = all[p.d.ID]
	}
	return out, nil
}

// identAllFrom is the number of changes of a run from which it looks up
// the oldest identifier of every entity (one aggregate over identifiers,
// no filter) rather than of the changed entities only: a filter of
// hundreds of thousands of ids costs more than the whole.
var identAllFrom int64 = 20_000

// lookUpIdentifiers fills seg_ident with the oldest identifier of the
// entities of seg_diff (of every entity, when they are many), which the
// events of the changes carry. With fromCopy, every change is a
// candidate's, whose identifiers the run copied (seg_c_idents).
func (r *run) lookUpIdentifiers(ctx context.Context, res *RunResult, changes int64, fromCopy bool) error {
	defer res.timer("look up identifiers")()
	if _, err := r.conn.ExecContext(ctx, r.conn.Query("SegmentIdentClear")); err != nil {
		return fmt.Errorf("look up identifiers: %w", err)
	}
	q := r.conn.Query("SegmentIdentFill")
	switch {
	case fromCopy:
		q = r.conn.Query("SegmentIdentFillCopied")
	case changes >= identAllFrom:
		q = r.conn.Query("SegmentIdentFillAll")
	case changes <= identKeysUpTo && r.e.caps.EntityKey() != "":
		keys, err := r.diffKeys(ctx)
		if err != nil {
			return fmt.Errorf("look up identifiers: %w", err)
		}
		q = withKeys(q, keys)
	}
	if _, err := r.conn.ExecContext(ctx, q, r.e.env.categoryList()); err != nil {
		return fmt.Errorf("look up identifiers: %w", err)
	}
	return nil
}

// allIncremental is whether every plan ran incrementally: its changes
// are then all of its candidates.
func allIncremental(ps []*plan) bool {
	return !slices.ContainsFunc(ps, func(p *plan) bool { return p.sr.Full })
}

// identKeysUpTo is the number of changes up to which the lookup of their
// identifiers names their entity keys as constants (withKeys).
const identKeysUpTo = 2_000

// identFilter is where withKeys adds the keys to SegmentIdentFill.
const identFilter = "WHERE category IN"

// withKeys adds to SegmentIdentFill the test of the entity keys of the
// changed entities, as constants: DuckDB tests a list of constants in the
// scan of identifiers and reads the other columns of the rows that pass
// only, where the semi join on seg_diff reads every row's entity id first
// (3M identifiers at 10M events: 63-88 against 110-131 ms for 130
// changes).
func withKeys(q string, keys []int64) string {
	if len(keys) == 0 {
		return q
	}
	list := make([]string, len(keys))
	for i, k := range keys {
		list[i] = strconv.FormatInt(k, 10)
	}
	return strings.Replace(q, identFilter, "WHERE entity_key IN ("+strings.Join(list, ", ")+") AND category IN", 1)
}

// diffKeys are the entity keys of the entities of seg_diff.
func (r *run) diffKeys(ctx context.Context) ([]int64, error) {
	return int64s(ctx, r.conn, "SELECT DISTINCT "+r.e.caps.EntityKey()+" FROM seg_diff")
}

// int64s reads a query's one integer column.
func int64s(ctx context.Context, x store.Executor, q string, args ...any) ([]int64, error) {
	rows, err := x.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// numbered are the first seqs of the ranges a run drew for its changes
// and their events: a change's seq is changes plus its rowid in seg_diff,
// its event's events plus it.
type numbered struct{ changes, events int64 }

// reserveSeqs draws the seqs of the run's changes and of their events as
// two ranges, one value per row of seg_diff in each, where one writer
// appends (store.Capabilities.SingleWriter): the inserts then give the
// rows their seq themselves (SegmentChangesInsertNumbered,
// SegmentEventsAppendNumbered). It returns nil elsewhere, or when a range
// drawn is not contiguous (something else drew meanwhile): the rows then
// take theirs from the sequences one by one.
func (r *run) reserveSeqs(ctx context.Context, tx store.ExecutorTx) (*numbered, error) {
	if !r.e.caps.SingleWriter() {
		return nil, nil
	}
	var n int64
	if err := tx.QueryRowContext(ctx, tx.Query("SegmentDiffRowSpan")).Scan(&n); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	var out numbered
	for _, x := range []struct {
		query string
		first *int64
	}{{"SegmentChangesSeqReserve", &out.changes}, {"EventSeqReserve", &out.events}} {
		var first, last, count int64
		if err := tx.QueryRowContext(ctx, tx.Query(x.query), n).Scan(&first, &last, &count); err != nil {
			return nil, err
		}
		if count != n || last-first+1 != n {
			return nil, nil
		}
		*x.first = first
	}
	return &out, nil
}

// dependenciesFirst orders the definitions so that each comes after the
// segments it refers to (validation refused cycles), else as declared.
func dependenciesFirst(defs []Definition) []*Definition {
	byID := make(map[string]*Definition, len(defs))
	for i := range defs {
		byID[defs[i].ID] = &defs[i]
	}
	out := make([]*Definition, 0, len(defs))
	placed := map[string]bool{}
	var place func(d *Definition)
	place = func(d *Definition) {
		if placed[d.ID] {
			return
		}
		placed[d.ID] = true
		for _, ref := range refs(&d.Condition) {
			if x := byID[ref]; x != nil {
				place(x)
			}
		}
		out = append(out, d)
	}
	for i := range defs {
		place(&defs[i])
	}
	return out
}

// categoryList is the identifier categories, sorted.
func (e *Env) categoryList() []string { return sortedKeys(e.categories) }
