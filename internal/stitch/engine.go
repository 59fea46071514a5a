package stitch

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// EngineVersion changes when the engine decides entities otherwise: a
// store whose entities an older version built is stitched again from
// scratch (config.StitchingHash holds it).
const EngineVersion = 2

// BatchSizeDefault is how many events one pass of Run takes.
const BatchSizeDefault = 50_000

// firstBatchMin is the smallest first batch of a Run whose batch size is larger.
const firstBatchMin = 50_000

// RebuildBatchSizeDefault is how many events one pass of Rebuild takes.
// Two batches are in memory at once (one read ahead while the other is
// resolved and written), and the collector lets the heap grow to four
// times what they hold (--gc-percent 300). A 10M-event rebuild, loaded
// (2026-12-07): 1,000,000 a pass peaked at 4.8 GB of resident memory
// (Go heap 1.5 GB), 500,000 at 4.0-4.1 GB, 250,000 at 3.6 GB (Go heap
// 0.5 GB), 125,000 at 3.5 GB, all in 21 to 23 s and 45 to 48 s of CPU;
// the rest is DuckDB's.
const RebuildBatchSizeDefault = 250_000

// ErrConcurrentPass means another process moved the watermark during the
// pass; nothing of it was written.
var ErrConcurrentPass = errors.New("another stitching pass ran at the same time; nothing was written")

// DB is what stitching needs from the store (a *store.DB).
type DB interface {
	store.Executor
	Begin(ctx context.Context) (*store.Tx, error)
	Capabilities() store.Capabilities
	// LockStitching is held, shared, for a Run and a reset: an erasure
	// (package erasure) takes it alone.
	LockStitching(ctx context.Context, exclusive bool) (func(), error)
}

// Engine runs stitching passes over a store's database.
type Engine struct {
	db    DB
	cfg   Config
	cats  []string       // sorted categories
	catIx map[string]int // category -> index in cats
	rules []compiledRule // in config order
	block []blockRule    // per category
	limit []int32        // per category, 0 = none
	prio  []int          // per category: the order its links are decided in
	cons  *constraints   // read at the start of each Run
	now   func() time.Time
	mu    sync.Mutex // one pass at a time in this process
	// idx is the resident index of the stitching state (index.go), nil
	// until loaded; noIndex turns it off for good.
	idx     *index
	noIndex bool
	// hashMask is ANDed to key hashes and the index's hashes: all ones;
	// tests narrow it to force collisions.
	hashMask uint64
	// beforeWrite, when set (tests), runs between a pass's resolve and write.
	beforeWrite func()
	// deferCut, during a rebuild, joins cut components whole and lists
	// their entities in deferred, to re-cluster them all at its end.
	deferCut bool
	deferred []string
	// bulk, during a rebuild's passes, keeps what they would write, for
	// one write at their end (bulk.go); nil otherwise. noBulk (tests)
	// makes rebuilds write pass by pass.
	bulk   *bulkState
	noBulk bool
	// copyMoves (tests) makes every re-clustering move its old mappings
	// by copying them (moveByCopy), as a large one does.
	copyMoves bool
	// carriedUsed counts the events whose identifiers a re-clustering
	// took from the index (carried.go) rather than the log (tests).
	carriedUsed int
	// loggedUsed counts the events whose identifiers a re-clustering
	// read from the log (tests).
	loggedUsed int
	// idsRead counts the events whose ids a re-clustering read from the
	// log (tests).
	idsRead int
}

type compiledRule struct {
	cat   int
	event eventRef
	expr  string
}

type blockRule struct {
	values  map[string]bool
	pattern *regexp.Regexp
}

// Opts tune an Engine; nil means defaults.
type Opts struct {
	// Now is the clock for created_at, modified_at and the logs.
	Now func() time.Time
}

// New validates cfg and returns an engine over db.
func New(db DB, cfg Config, opts *Opts) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{db: db, cfg: cfg, cats: cfg.categories(), now: time.Now, hashMask: ^uint64(0)}
	if opts != nil && opts.Now != nil {
		e.now = opts.Now
	}
	e.catIx = map[string]int{}
	for i, c := range e.cats {
		e.catIx[c] = i
	}
	for _, r := range cfg.Rules {
		ev, _ := parseEvent(r.Event)
		e.rules = append(e.rules, compiledRule{cat: e.catIx[r.Identifier], event: ev, expr: r.ValueExpression})
	}
	e.block = make([]blockRule, len(e.cats))
	e.limit = make([]int32, len(e.cats))
	e.prio = make([]int, len(e.cats))
	e.cons = &constraints{}
	for i, c := range e.cats {
		id := cfg.Identifiers[c]
		b := blockRule{values: map[string]bool{}}
		for _, v := range id.BlockedValues {
			b.values[v] = true
		}
		if id.BlockedPattern != "" {
			b.pattern = regexp.MustCompile(id.BlockedPattern)
		}
		e.block[i] = b
		e.limit[i] = int32(id.MaxPerEntity)
		e.prio[i] = id.Priority
		if id.Priority == 0 {
			e.prio[i] = math.MaxInt
		}
	}
	return e, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// seqRange selects the events of a batch: seq in ($1, $2].
const seqRange = "seq > $1 AND seq <= $2"

// logRows are the events the rules are evaluated on: from (a table of the
// log's columns) where where holds. keep, when set, names a column of
// from's that is never NULL: the test that a rule gave a value is written
// so that it reads it too, which keeps the planner from moving the test
// (a parse of the payload) below a join that selects the events.
type logRows struct{ from, where, keep string }

// logWhere is the log's events where cond holds.
func logWhere(cond string) logRows { return logRows{from: "event_log", where: cond} }

// regionRows are the log's events whose seqs the packed list $1 holds. On
// a backend that filters after a selective join (DuckDB), they are the
// join of those seqs to the log, and the rules' test stays above it:
// pushed into the log's scan, it parsed the payload of every event of
// the type (an engine started on a stitched store re-clustered a region
// of 516 events in 8.7 to 10.2 s on 10M events, the page views' rule
// alone 1.5 s of CPU against 0.6 s above the join).
func (e *Engine) regionRows() logRows {
	list := plainListSQL("$1", "BIGINT")
	if !e.db.Capabilities().FiltersAfterSelectiveJoin() {
		return logWhere("seq IN (SELECT " + list + ")")
	}
	return logRows{from: "(SELECT ev.*, q.region_seq FROM (SELECT " + list + " AS region_seq) q JOIN event_log ev ON ev.seq = q.region_seq) region_events",
		where: "TRUE", keep: "region_seq"}
}

// columns and valueTest are the inner query's extra column and the outer
// query's test that a value was given (see keep).
func (l logRows) columns() string {
	if l.keep == "" {
		return ""
	}
	return ", " + l.keep
}

func (l logRows) valueTest() string {
	if l.keep == "" {
		return "v IS NOT NULL"
	}
	return "(v IS NOT NULL OR " + l.keep + " IS NULL)"
}

// ruleSQL is one rule's part of the extraction query: every non-NULL value
// its expression yields for the events of its type among rows.
func (r compiledRule) sql(i int, rows logRows) string {
	return fmt.Sprintf("SELECT seq, %d AS rule, CAST(v AS TEXT) AS v FROM (SELECT seq, (%s) AS v%s FROM %s WHERE %s AND %s) r%d WHERE %s",
		i, r.expr, rows.columns(), rows.from, rows.where, r.event.condition(), i, rows.valueTest())
}

// extractSQL is the query of every rule's values for the events seqs
// selects. The rules of one event type share one scan of the log (the
// demo's forms and purchases carry two identifiers each): each row gives
// its rules' values side by side, unnested into one row per rule, which
// cost DuckDB a quarter less than a scan per rule.
// plainValue matches the value expressions extractSQL evaluates side by
// side with others: payload keys (payload->>'key', payload->'a'->>'b'),
// in the case and blank functions, which give one value per event. Any
// other expression gets a scan of its own.
var (
	plainValueKey  = regexp.MustCompile(`payload(\s*->>?\s*'[A-Za-z0-9_]+')+`)
	plainValueFunc = regexp.MustCompile(`\b(lower|upper|trim|ltrim|rtrim)\s*\(`)
	plainValueRest = regexp.MustCompile(`^[\s(),]*$`)
)

func plainValue(expr string) bool {
	rest := plainValueFunc.ReplaceAllString(plainValueKey.ReplaceAllString(expr, ""), "")
	return plainValueRest.MatchString(rest) && plainValueKey.MatchString(expr)
}

func (e *Engine) extractSQL(rows logRows) string {
	var conds []string
	groups := map[string][]int{}
	for i, r := range e.rules {
		c := e.scanOf(r)
		if !plainValue(r.expr) {
			// Perhaps set-returning (json_array_elements_text(...)):
			// a scan of its own, as it may yield several rows per event.
			c = fmt.Sprintf("%s /* rule %d */", c, i)
		}
		if _, ok := groups[c]; !ok {
			conds = append(conds, c)
		}
		groups[c] = append(groups[c], i)
	}
	parts := make([]string, len(conds))
	for j, c := range conds {
		rules := groups[c]
		if len(rules) == 1 {
			parts[j] = e.rules[rules[0]].sql(rules[0], rows)
			continue
		}
		nums, exprs := make([]string, len(rules)), make([]string, len(rules))
		for k, i := range rules {
			nums[k] = strconv.Itoa(i)
			exprs[k] = e.rules[i].expr
		}
		from, where := rows.from, rows.where+" AND "+c
		// Each event's payload parsed once for all the keys the group's
		// rules read, where the engine gains from it (a purchase's email
		// and crm_id: 85-100 -> 66 ms of CPU a pass of 250,000 events).
		if x, parsed := e.jsonOnce(exprs); parsed != "" {
			exprs = x
			from, where = fmt.Sprintf("(SELECT *, %s FROM %s WHERE %s) p%d", parsed, rows.from, where, j), "TRUE"
		}
		vals := make([]string, len(rules))
		for k, i := range rules {
			v := "(" + exprs[k] + ")"
			if r := e.rules[i]; e.scanOf(r) != r.event.condition() {
				v = "CASE WHEN version = " + quote(r.event.version) + " THEN " + v + " END"
			}
			vals[k] = "CAST(" + v + " AS TEXT)"
		}
		parts[j] = fmt.Sprintf("SELECT seq, rule, v FROM (SELECT seq, unnest(ARRAY[%s]) AS rule, unnest(ARRAY[%s]) AS v%s FROM %s WHERE %s) g%d WHERE %s",
			strings.Join(nums, ", "), strings.Join(vals, ", "), rows.columns(), from, where, j, rows.valueTest())
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// scanOf is the condition of the scan that evaluates rule r beside the
// other rules of its source and type: the rules of one version of a type
// share the scan of the type (the demo's email of CRM updates 1-0-0 and
// crm_id of every version: one scan instead of two) and test the version
// per row. The rules of every type of a source keep their own.
func (e *Engine) scanOf(r compiledRule) string {
	if r.event.typ == anyType || r.event.version == "" {
		return r.event.condition()
	}
	ev := r.event
	ev.version = ""
	return ev.condition()
}

// jsonOnce rewrites exprs to read the payload parsed once
// (store.Capabilities.JSONExtractOnce); parsed is "" when nothing was
// rewritten. (Tests build engines without a store: nothing then.)
func (e *Engine) jsonOnce(exprs []string) (rewritten []string, parsed string) {
	if e.db == nil {
		return exprs, ""
	}
	return e.db.Capabilities().JSONExtractOnce(exprs, "payload")
}

// ValidateSQL runs every rule's expression against the engine over no rows,
// so that a bad expression is refused, naming its rule, before any pass.
// Each is first held to what SQL from the config may do
// (store.CheckConfigSQL), and runs confined, as in a pass.
func (e *Engine) ValidateSQL(ctx context.Context) error {
	for i, r := range e.rules {
		err := store.CheckConfigSQL(r.expr)
		if err == nil {
			err = e.confined(ctx, func(x store.Executor) error {
				rows, err := x.QueryContext(ctx, r.sql(i, logWhere(seqRange)), 0, 0)
				if err == nil {
					err = rows.Close()
				}
				return err
			})
		}
		if err != nil {
			return &RuleError{Index: i, Rule: e.cfg.Rules[i], Err: err}
		}
	}
	return nil
}

// confined runs fn's reads, which hold the rules' SQL from the config,
// confined (store.RunConfigSQL): read only, as the restricted role on
// PostgreSQL.
func (e *Engine) confined(ctx context.Context, fn func(store.Executor) error) error {
	return store.RunConfigSQL(ctx, e.db, e.db.Capabilities(), true, fn)
}

// Result counts what stitching did.
type Result struct {
	EventsProcessed int `json:"events_processed"`
	EntitiesCreated int `json:"entities_created"`
	Merges          int `json:"merges"`
	Splits          int `json:"splits"`
}

func (r *Result) add(o Result) {
	r.EventsProcessed += o.EventsProcessed
	r.EntitiesCreated += o.EntitiesCreated
	r.Merges += o.Merges
	r.Splits += o.Splits
}

// Run stitches the events after the watermark that the log held when it
// started (and the rest of its last batch), batchSize events a pass (0
// means BatchSizeDefault). Events appended meanwhile are left to the next
// run: a run ends while a load goes on, and whoever asks for runs (the
// pipeline's background loop) decides when the next one starts.
func (e *Engine) Run(ctx context.Context, batchSize int) (*Result, error) {
	if batchSize <= 0 {
		batchSize = BatchSizeDefault
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer func() {
		if e.bulk != nil {
			// A rebuild's passes that failed: nothing of them was
			// committed, and the index holds them.
			e.dropBulk()
			e.idx = nil
		}
	}()
	total := &Result{}
	unlock, err := e.db.LockStitching(ctx, false)
	if err != nil {
		return total, err
	}
	defer unlock()
	wm, token, err := e.state(ctx)
	if err != nil {
		return total, fmt.Errorf("read watermark: %w", err)
	}
	if e.cons, err = e.loadConstraints(ctx); err != nil {
		return total, err
	}
	if err := e.ensureIndex(ctx, wm, token); err != nil {
		return total, err
	}
	var end int64
	if err := e.db.QueryRowContext(ctx, e.db.Query("StitchLogEnd")).Scan(&end); err != nil {
		return total, fmt.Errorf("read the log's end: %w", err)
	}
	// Each pass's batch is read while the pass before it is resolved and
	// written: reading needs only the log, and a pass that fails stops the
	// loop before the batch read ahead is used.
	stop := func() {}
	defer func() { stop() }()
	// The first batch is read before anything else can happen: a smaller
	// one gets the pipeline going sooner (any batch sizes give the same
	// partition).
	next := e.readAhead(ctx, wm, max(batchSize/4, min(batchSize, firstBatchMin)))
	for {
		r := <-next
		stop()
		if r.err != nil {
			return total, r.err
		}
		if r.b == nil {
			return total, e.finishRun(ctx)
		}
		var actx context.Context
		actx, stop = context.WithCancel(ctx)
		next = nil
		if r.b.hi < end {
			next = e.readAhead(actx, r.b.hi, batchSize)
		}
		res, err := e.pass(ctx, r.b)
		if err != nil {
			stop()
			if next != nil {
				<-next
			}
			return total, err
		}
		total.add(*res)
		if next == nil { // the log's end as the run started
			stop()
			return total, e.finishRun(ctx)
		}
	}
}

// finishRun commits a rebuild's passes (nothing for a run's own passes,
// each committed already).
func (e *Engine) finishRun(ctx context.Context) error {
	if err := e.finishBulk(ctx); err != nil {
		e.idx = nil // the commit may or may not have happened
		return err
	}
	return nil
}

type readResult struct {
	b   *batch
	err error
}

// readAhead reads the batch after lo in a goroutine.
func (e *Engine) readAhead(ctx context.Context, lo int64, size int) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		start := time.Now()
		b, err := e.read(ctx, lo, size)
		if trace && b != nil {
			traceSince(start, "read (ahead of its pass)", len(b.seqs))
		}
		ch <- readResult{b, err}
	}()
	return ch
}

// Rebuild forgets all stitching state and stitches the whole log again,
// batchSize events a pass (0 means RebuildBatchSizeDefault).
func (e *Engine) Rebuild(ctx context.Context, batchSize int) (*Result, error) {
	if batchSize <= 0 {
		batchSize = RebuildBatchSizeDefault
	}
	e.mu.Lock()
	err := e.reset(ctx)
	e.deferCut, e.deferred = true, nil
	if err == nil && e.idx != nil && !e.noBulk {
		e.bulk, err = e.startBulk(ctx)
	}
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	res, err := e.Run(ctx, batchSize)
	e.mu.Lock()
	deferred := e.deferred
	e.deferCut, e.deferred = false, nil
	e.mu.Unlock()
	if err != nil {
		return res, err
	}
	// The cut components, re-clustered from their events in one go
	// rather than at every pass that touched them: the partition is the
	// same, the log is read once.
	for len(deferred) > 0 {
		n := min(len(deferred), reclusterChunk)
		more, err := e.recluster1(ctx, deferred[:n], "", false)
		if err != nil {
			return res, err
		}
		res.EntitiesCreated += more.EntitiesCreated
		res.Merges += more.Merges
		res.Splits += more.Splits
		deferred = deferred[n:]
	}
	return res, nil
}

// reclusterChunk is how many entities a rebuild re-clusters at once.
const reclusterChunk = 50_000

func (e *Engine) reset(ctx context.Context) error {
	if trace {
		defer traceSince(time.Now(), "reset", 0)
	}
	e.idx = nil
	unlock, err := e.db.LockStitching(ctx, false)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := e.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range []string{
		tx.Query("StitchResetEntityEvents"), tx.Query("StitchResetIdentifiers"), tx.Query("StitchResetEntities"),
		tx.Query("StitchResetMerges"), tx.Query("StitchResetAudit"),
		"DELETE FROM stitch_refused", "DELETE FROM stitch_splits",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reset stitching: %w", err)
		}
	}
	token := newToken()
	if _, err := tx.ExecContext(ctx, tx.Query("StitchStateReset"), token); err != nil {
		return fmt.Errorf("reset stitching: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// The state is empty: no need to load the index.
	if !e.noIndex {
		e.idx = newIndex(len(e.cats), e.hashMask)
		e.idx.token = token
		e.idx.carried = &carriedKeys{}
	}
	return nil
}

// Watermark is the seq of the last stitched event.
func (e *Engine) Watermark(ctx context.Context) (int64, error) {
	var wm int64
	err := e.db.QueryRowContext(ctx, e.db.Query("StitchWatermark")).Scan(&wm)
	return wm, err
}

// pass stitches a batch.
func (e *Engine) pass(ctx context.Context, b *batch) (*Result, error) {
	if trace {
		defer traceSince(time.Now(), "pass", len(b.seqs))
	}
	start := time.Now()
	plan, err := e.resolve(ctx, b)
	if trace {
		traceSince(start, "resolve", len(b.seqs))
	}
	if err != nil {
		return nil, err
	}
	if e.beforeWrite != nil {
		e.beforeWrite()
	}
	if s := e.bulk; s != nil {
		if e.idx != nil && bulkOK(e.idx, plan) {
			if err := e.bulkPass(ctx, s, b, plan, e.now().UTC().Truncate(time.Microsecond)); err != nil {
				return nil, err
			}
			e.keepCarried(b)
			return plan.result(len(b.seqs)), nil
		}
		// The index cannot take this pass: the rebuild's passes so far
		// are committed, and the passes from this one on write as Run's do.
		if err := e.finishBulk(ctx); err != nil {
			e.idx = nil
			return nil, err
		}
	}
	token := newToken()
	if err := e.write(ctx, b, plan, token); err != nil {
		e.idx = nil // the commit may or may not have happened
		return nil, err
	}
	if e.idx != nil {
		if err := e.idx.apply(b, plan, token); err != nil {
			// It cannot hold the state (errIndexFull): the pass is written, the index is off.
			e.idx, e.noIndex = nil, true
		}
	}
	e.keepCarried(b)
	return plan.result(len(b.seqs)), nil
}

// keepCarried records in the index the identifiers of b's events.
func (e *Engine) keepCarried(b *batch) {
	if x := e.idx; x != nil && x.carried != nil && !x.carried.keep(x, b) {
		x.carried = nil
	}
}

func (p *plan) result(events int) *Result {
	res := &Result{EventsProcessed: events, EntitiesCreated: len(p.newEntities), Merges: len(p.merges)}
	if rp := p.region; rp != nil {
		for c, o := range rp.kept {
			if o < 0 && !rp.revived[c] {
				res.EntitiesCreated++
			}
		}
		res.Merges += len(rp.merges)
		res.Splits += len(rp.splits)
	}
	return res
}

// linkCompare orders an event's identifiers for linking: categories with a
// max_per_entity guard first, then by category and value. An event joins
// through its guarded identifiers (emails, customer ids) before a shared
// weak one (a kiosk's cookie) can pull it into a crowd: that link is then
// the one refused.
func (e *Engine) linkCompare(a, b identKey) int {
	ga, gb := e.limit[a.cat] > 0, e.limit[b.cat] > 0
	if ga != gb {
		if ga {
			return -1
		}
		return 1
	}
	if a.cat != b.cat {
		return cmp.Compare(a.cat, b.cat)
	}
	return strings.Compare(a.value, b.value)
}

// keyHash is an identifier's key_hash (store.IdentifierKeyHash). It
// narrows look-ups; the values decide.
func (e *Engine) keyHash(k identKey) int64 {
	return int64(uint64(store.IdentifierKeyHash(e.cats[k.cat], k.value)) & e.hashMask)
}

func entityID(eventID string) string {
	sum := md5.Sum([]byte(eventID))
	return hex.EncodeToString(sum[:])
}

// Recluster re-clusters now the components that hold these entities (ids
// of merged entities stand for their survivors), under the constraints in
// stitch_constraints: call it after adding or removing one.
func (e *Engine) Recluster(ctx context.Context, ids []string) (*Result, error) {
	return e.ReclusterFor(ctx, ids, "")
}

// ReclusterFor is Recluster on behalf of a constraint, which the splits it
// makes name.
func (e *Engine) ReclusterFor(ctx context.Context, ids []string, constraint string) (*Result, error) {
	return e.recluster1(ctx, ids, constraint, true)
}

// recluster1 is Recluster; without history, it records no merges or splits
// (a rebuild's: the entities it re-clusters were whole only for a moment).
func (e *Engine) recluster1(ctx context.Context, ids []string, constraint string, history bool) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	unlock, err := e.db.LockStitching(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	wm, token, err := e.state(ctx)
	if err != nil {
		return nil, fmt.Errorf("read watermark: %w", err)
	}
	if e.cons, err = e.loadConstraints(ctx); err != nil {
		return nil, err
	}
	if history {
		// After an operator's change, the index may hold identifiers a new
		// constraint blocks: it is loaded again by the next pass. A
		// rebuild's constraints are those its passes had.
		e.idx = nil
	} else if err := e.ensureIndex(ctx, wm, token); err != nil {
		return nil, err
	}
	ents, err := e.liveEntities(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range ents {
		e.inIndex(&ents[i])
	}
	b := &batch{lo: wm, hi: wm, audit: map[auditKey]*auditRow{}, keyIx: map[identKey]int32{}, evOff: []int32{0}}
	all := make([]int32, len(ents))
	for i := range all {
		all[i] = int32(i)
	}
	p := &plan{}
	if len(ents) > 0 {
		// Every entity is re-clustered with its whole component.
		for i := range ents {
			ents[i].labeled = true
		}
		if p.region, err = e.recluster(ctx, b, nil, ents, all, constraint); err != nil {
			return nil, err
		}
		if !history {
			// A rebuild decides these links here for the first time: its
			// audit counts their refusals, as a pass counts its own.
			p.region.merges, p.region.splits = nil, nil
			rp := p.region
			for _, f := range rp.c.refused {
				k := rp.r.keys[f.key]
				b.audit1(auditKey{k.cat, k.value, f.reason}, rp.r.events[f.ev].seq)
			}
		}
	}
	token = newToken()
	if err := e.write(ctx, b, p, token); err != nil {
		e.idx = nil
		return nil, err
	}
	if e.idx != nil && e.idx.apply(b, p, token) != nil {
		e.idx, e.noIndex = nil, true
	}
	return p.result(0), nil
}

// liveEntities reads the live entities these ids name, following merges.
func (e *Engine) liveEntities(ctx context.Context, ids []string) ([]existingEntity, error) {
	var out []existingEntity
	seen := map[string]bool{}
	for hop := 0; len(ids) > 0; hop++ {
		if hop > 64 {
			return nil, fmt.Errorf("entities %v: merged_into does not end", ids)
		}
		var list plainList
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				list.add(id)
			}
		}
		ids = nil
		if list.n == 0 {
			break
		}
		rows, err := e.db.QueryContext(ctx, `SELECT id, created_seq, `+firstAtSQL+`, component IS NOT NULL, coalesce(merged_into, '')
			FROM entities WHERE id IN (SELECT `+plainListSQL("$1", "TEXT")+`)`, list.String())
		if err != nil {
			return nil, fmt.Errorf("read entities: %w", err)
		}
		for rows.Next() {
			x := existingEntity{slot: -1}
			var into string
			if err := rows.Scan(&x.id, &x.createdSeq, &x.firstAt, &x.labeled, &into); err != nil {
				rows.Close()
				return nil, err
			}
			if into != "" {
				ids = append(ids, into)
				continue
			}
			out = append(out, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read entities: %w", err)
		}
	}
	return out, nil
}

// Carriers lists the live entities whose events carry the identifier by
// the rules, blocked or not: what removing a block must re-cluster. It
// reads the events of the category's rules, the whole log: a manual
// action's cost, not a pass's.
func (e *Engine) Carriers(ctx context.Context, category, value string) ([]string, error) {
	c, ok := e.catIx[category]
	if !ok {
		return nil, nil
	}
	var parts []string
	for i, r := range e.rules {
		if r.cat == c {
			parts = append(parts, r.sql(i, logWhere("TRUE")))
		}
	}
	var out []string
	err := e.confined(ctx, func(x store.Executor) error {
		rows, err := x.QueryContext(ctx, `SELECT DISTINCT ee.entity_id FROM (`+strings.Join(parts, "\nUNION ALL\n")+`) x
			JOIN entity_events ee ON ee.event_seq = x.seq WHERE x.v = $1`, value)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find the entities carrying %s: %w", category, err)
	}
	return out, nil
}
