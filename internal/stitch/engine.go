package stitch

import (
	"cmp"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BatchSizeDefault is how many events one pass takes.
const BatchSizeDefault = 50_000

// ErrConcurrentPass means another process moved the watermark during the
// pass; nothing of it was written.
var ErrConcurrentPass = errors.New("another stitching pass ran at the same time; nothing was written")

// Engine runs stitching passes over a store's database.
type Engine struct {
	db    *sql.DB
	cfg   Config
	cats  []string       // sorted categories
	catIx map[string]int // category -> index in cats
	rules []compiledRule // in config order
	block []blockRule    // per category
	limit []int32        // per category, 0 = none
	now   func() time.Time
	mu    sync.Mutex // one pass at a time in this process
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

// New validates cfg and returns an engine over db (the store's pool).
func New(db *sql.DB, cfg Config, opts *Opts) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{db: db, cfg: cfg, cats: cfg.categories(), now: time.Now}
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
	}
	return e, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ruleSQL is one rule's part of the extraction query: every non-NULL value
// its expression yields for the events of its type with seq in ($1, $2].
func (r compiledRule) sql(i int) string {
	where := "source_id = " + quote(r.event.source) + " AND type = " + quote(r.event.typ)
	if r.event.version != "" {
		where += " AND version = " + quote(r.event.version)
	}
	return fmt.Sprintf("SELECT seq, %d AS rule, CAST(v AS TEXT) AS v FROM (SELECT seq, (%s) AS v FROM customer_events WHERE seq > $1 AND seq <= $2 AND %s) r%d WHERE v IS NOT NULL",
		i, r.expr, where, i)
}

func (e *Engine) extractSQL() string {
	parts := make([]string, len(e.rules))
	for i, r := range e.rules {
		parts[i] = r.sql(i)
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// ValidateSQL runs every rule's expression against the engine over no rows,
// so that a bad expression is refused, naming its rule, before any pass.
func (e *Engine) ValidateSQL(ctx context.Context) error {
	for i, r := range e.rules {
		rows, err := e.db.QueryContext(ctx, r.sql(i), 0, 0)
		if err == nil {
			err = rows.Close()
		}
		if err != nil {
			return &RuleError{Index: i, Rule: e.cfg.Rules[i], Err: err}
		}
	}
	return nil
}

// Result counts what stitching did.
type Result struct {
	EventsProcessed int `json:"events_processed"`
	EntitiesCreated int `json:"entities_created"`
	Merges          int `json:"merges"`
}

func (r *Result) add(o Result) {
	r.EventsProcessed += o.EventsProcessed
	r.EntitiesCreated += o.EntitiesCreated
	r.Merges += o.Merges
}

// Run stitches every event after the watermark, batchSize events a pass
// (0 means BatchSizeDefault).
func (e *Engine) Run(ctx context.Context, batchSize int) (*Result, error) {
	if batchSize <= 0 {
		batchSize = BatchSizeDefault
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	total := &Result{}
	for {
		res, err := e.pass(ctx, batchSize)
		if err != nil {
			return total, err
		}
		if res.EventsProcessed == 0 {
			return total, nil
		}
		total.add(*res)
	}
}

// Rebuild forgets all stitching state and stitches the whole log again.
func (e *Engine) Rebuild(ctx context.Context, batchSize int) (*Result, error) {
	e.mu.Lock()
	err := e.reset(ctx)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return e.Run(ctx, batchSize)
}

func (e *Engine) reset(ctx context.Context) error {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range []string{
		"DELETE FROM entity_events", "DELETE FROM identifiers", "DELETE FROM entities",
		"DELETE FROM stitch_merges", "DELETE FROM stitch_audit",
		"UPDATE stitch_state SET watermark = 0, updated_at = NULL WHERE id = 1",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("reset stitching: %w", err)
		}
	}
	return tx.Commit()
}

// Watermark is the seq of the last stitched event.
func (e *Engine) Watermark(ctx context.Context) (int64, error) {
	var wm int64
	err := e.db.QueryRowContext(ctx, "SELECT watermark FROM stitch_state WHERE id = 1").Scan(&wm)
	return wm, err
}

// identKey is one identifier.
type identKey struct {
	cat   int
	value string
}

// batch is what one pass reads.
type batch struct {
	lo, hi int64
	seqs   []int64      // sorted
	ids    []string     // per event
	dense  []int32      // dense[seq-lo-1] is the event's index, or -1; nil when seqs are sparse
	idents [][]identKey // per event, sorted, unique, not blocked
	audit  map[auditKey]*auditRow
}

type auditKey struct {
	cat    int
	value  string
	reason string
}

type auditRow struct {
	events   int64
	firstSeq int64
}

// readEvents reads the seq and id of the batch's events, in seq order.
func (b *batch) readEvents(ctx context.Context, db *sql.DB) error {
	type ev struct {
		seq int64
		id  string
	}
	var evs []ev
	err := scanPacked(ctx, db, "SELECT string_agg(concat(seq, chr(30), "+escapeSQL("id")+"), chr(31)) FROM customer_events WHERE seq > $1 AND seq <= $2 GROUP BY seq - seq % 65536",
		[]any{b.lo, b.hi}, 2, func(f []string) error {
			seq, err := strconv.ParseInt(f[0], 10, 64)
			evs = append(evs, ev{seq, unescape(f[1])})
			return err
		})
	if err != nil {
		return err
	}
	slices.SortFunc(evs, func(a, c ev) int { return cmp.Compare(a.seq, c.seq) })
	b.seqs, b.ids = make([]int64, len(evs)), make([]string, len(evs))
	for i, e := range evs {
		b.seqs[i], b.ids[i] = e.seq, e.id
	}
	if span := b.hi - b.lo; span <= 4*int64(len(evs))+1024 {
		b.dense = make([]int32, span)
		for i := range b.dense {
			b.dense[i] = -1
		}
		for i, seq := range b.seqs {
			b.dense[seq-b.lo-1] = int32(i)
		}
	}
	return nil
}

// index is the position of the event with this seq, or -1.
func (b *batch) index(seq int64) int {
	if seq <= b.lo || seq > b.hi {
		return -1
	}
	if b.dense != nil {
		return int(b.dense[seq-b.lo-1])
	}
	i, ok := slices.BinarySearch(b.seqs, seq)
	if !ok {
		return -1
	}
	return i
}

// scanPacked runs a query that returns packed rows (see pack.go): text
// values of elements separated by 0x1f, each of fields separated by 0x1e,
// and calls fn with each element's fields.
// The last of the n fields may hold 0x1e.
func scanPacked(ctx context.Context, db *sql.DB, query string, args []any, n int, fn func([]string) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var fields []string
	for rows.Next() {
		var packed sql.NullString
		if err := rows.Scan(&packed); err != nil {
			return err
		}
		for elem := range strings.SplitSeq(packed.String, string(sepElem)) {
			if elem == "" {
				continue
			}
			fields = fields[:0]
			for len(fields) < n-1 {
				f, rest, ok := strings.Cut(elem, string(sepField))
				if !ok {
					return fmt.Errorf("packed row %q has fewer than %d fields", elem, n)
				}
				fields, elem = append(fields, f), rest
			}
			fields = append(fields, elem)
			if err := fn(fields); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}

func (b *batch) audit1(k auditKey, seq int64) {
	if r, ok := b.audit[k]; ok {
		r.events++
		return
	}
	b.audit[k] = &auditRow{events: 1, firstSeq: seq}
}

// pass stitches the next batch.
func (e *Engine) pass(ctx context.Context, size int) (*Result, error) {
	b, err := e.read(ctx, size)
	if err != nil || b == nil {
		return &Result{}, err
	}
	plan, err := e.resolve(ctx, b)
	if err != nil {
		return nil, err
	}
	if err := e.write(ctx, b, plan); err != nil {
		return nil, err
	}
	return &Result{EventsProcessed: len(b.seqs), EntitiesCreated: len(plan.newEntities), Merges: len(plan.merges)}, nil
}

// read loads the next batch of events and their identifiers.
func (e *Engine) read(ctx context.Context, size int) (*batch, error) {
	wm, err := e.Watermark(ctx)
	if err != nil {
		return nil, fmt.Errorf("read watermark: %w", err)
	}
	var hi sql.NullInt64
	err = e.db.QueryRowContext(ctx, "SELECT max(seq) FROM (SELECT seq FROM customer_events WHERE seq > $1 ORDER BY seq LIMIT $2) s", wm, size).Scan(&hi)
	if err != nil {
		return nil, fmt.Errorf("find batch: %w", err)
	}
	if !hi.Valid {
		return nil, nil
	}
	b := &batch{lo: wm, hi: hi.Int64, audit: map[auditKey]*auditRow{}}
	if err := b.readEvents(ctx, e.db); err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	b.idents = make([][]identKey, len(b.seqs))
	if len(e.rules) == 0 {
		return b, nil
	}
	err = scanPacked(ctx, e.db, "SELECT string_agg(concat(seq, chr(30), rule, chr(30), "+escapeSQL("v")+"), chr(31)) FROM (\n"+
		e.extractSQL()+"\n) x GROUP BY seq - seq % 65536", []any{b.lo, b.hi}, 3, func(f []string) error {
		seq, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return err
		}
		rule, err := strconv.Atoi(f[1])
		if err != nil || rule < 0 || rule >= len(e.rules) {
			return fmt.Errorf("bad rule number %q", f[1])
		}
		i := b.index(seq)
		if i < 0 {
			return fmt.Errorf("event %d is not in the batch", seq)
		}
		v := unescape(f[2])
		cat := e.rules[rule].cat
		if bl := e.block[cat]; bl.values[v] || (bl.pattern != nil && bl.pattern.MatchString(v)) {
			b.audit1(auditKey{cat, v, "blocked"}, seq)
			return nil
		}
		b.idents[i] = append(b.idents[i], identKey{cat, v})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate stitching rules: %w", err)
	}
	for i, ks := range b.idents {
		sort.Slice(ks, func(a, c int) bool { return e.linkBefore(ks[a], ks[c]) })
		b.idents[i] = compactKeys(ks)
	}
	return b, nil
}

// linkBefore orders an event's identifiers for linking: categories with a
// max_per_entity guard first, then by category and value. An event joins
// through its guarded identifiers (emails, customer ids) before a shared
// weak one (a kiosk's cookie) can pull it into a crowd: that link is then
// the one refused.
func (e *Engine) linkBefore(a, b identKey) bool {
	ga, gb := e.limit[a.cat] > 0, e.limit[b.cat] > 0
	if ga != gb {
		return ga
	}
	if a.cat != b.cat {
		return a.cat < b.cat
	}
	return a.value < b.value
}

func compactKeys(ks []identKey) []identKey {
	out := ks[:0]
	for i, k := range ks {
		if i == 0 || k != ks[i-1] {
			out = append(out, k)
		}
	}
	return out
}

func entityID(eventID string) string {
	sum := md5.Sum([]byte(eventID))
	return hex.EncodeToString(sum[:])
}
