package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// PrivacyOpts describe a privacy benchmark.
type PrivacyOpts struct {
	// DB is the store: empty, or holding exactly Events events of an
	// earlier load with the same options (stitched or not).
	DB *store.DB
	// Events and Customers size the log. Defaults 10,000,000 and 1,000,000.
	Events    int
	Customers int
	// Erase is how many people one Erase call erases. Default 1,000.
	Erase int
	// Suppressed is how many identifiers the suppression list holds for
	// the second ingest figure. Default 100,000.
	Suppressed int
	// Ingest is how many events each ingest round appends. Default 200,000.
	Ingest int
	// Rounds of ingest with and without the list, alternated. Default 3.
	Rounds int
	// Seed of the demo data. Default 1.
	Seed uint64
	// Prepare loads, stitches and calculates the store, and stops: copies
	// of it make repeated runs quick.
	Prepare  bool
	Progress func(string)
}

func (o *PrivacyOpts) withDefaults() {
	storeDefaults(&o.Events, &o.Customers, &o.Seed, &o.Progress)
	o.Erase = cmp.Or(max(o.Erase, 0), 1000)
	o.Suppressed = cmp.Or(max(o.Suppressed, 0), 100_000)
	o.Ingest = cmp.Or(max(o.Ingest, 0), 200_000)
	o.Rounds = cmp.Or(max(o.Rounds, 0), 3)
}

// PrivacyReport is what a privacy benchmark measured.
type PrivacyReport struct {
	Backend    string
	Events     int
	Entities   int64
	LoadTime   time.Duration
	StitchTime time.Duration
	AttrTime   time.Duration

	People    int
	EraseTime time.Duration
	// EraseCPU is the CPU time the process spent erasing (DuckDB's
	// threads included; a PostgreSQL server's work is not): on a machine
	// shared with other work it says more than EraseTime.
	EraseCPU time.Duration
	Erased   erasure.Result

	Suppressed int64
	// Events/s of each ingest round, without and with the list.
	Without, With []float64
	// CPU microseconds per event of each round, without and with the list
	// (this process's, as EraseCPU): steadier than events/s on a machine
	// shared with other work.
	WithoutCPU, WithCPU []float64
	// Returning is how many events of each round came from erased people
	// (one in returnEvery); Dropped how many of them the rounds with the
	// list dropped, in all.
	Returning, Dropped int
	// InGo and InSQL count the batches of the rounds with the list that
	// the suppressor checked in Go and those it left to the rules in SQL.
	InGo, InSQL int64

	PeakRSSBytes int64
}

func (r *PrivacyReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d events, %d live entities\n", r.Backend, r.Events, r.Entities)
	for _, s := range []struct {
		what string
		d    time.Duration
	}{{"loaded", r.LoadTime}, {"stitched", r.StitchTime}, {"attributes calculated", r.AttrTime}} {
		if s.d > 0 {
			fmt.Fprintf(&b, "%s in %s\n", s.what, s.d.Round(time.Millisecond))
		}
	}
	if r.People == 0 {
		return b.String()
	}
	e := r.Erased
	fmt.Fprintf(&b, "erase %d people in one call: %s (reclaim %.0f ms), %s of CPU\n", r.People, r.EraseTime.Round(time.Millisecond), e.ReclaimMS,
		r.EraseCPU.Round(time.Millisecond))
	fmt.Fprintf(&b, "  %d entities, %d events (%d delivery logs), %d identifiers suppressed, %d attribute values, %d properties\n",
		e.Entities, e.Events, e.DeliveryLogs, e.Suppressed, e.AttributeValues, e.Properties)
	without, with := median(r.Without), median(r.With)
	fmt.Fprintf(&b, "ingest without suppressed identifiers: %.0f events/s (rounds %s), %.1f µs of CPU an event\n",
		without, rates(r.Without), median(r.WithoutCPU))
	fmt.Fprintf(&b, "ingest with %d suppressed identifiers: %.0f events/s (rounds %s), %+.1f%%; %.1f µs of CPU an event\n",
		r.Suppressed, with, rates(r.With), 100*(with-without)/without, median(r.WithCPU))
	fmt.Fprintf(&b, "  new people, and %d events a round of erased people coming back: %d dropped; batches checked in Go %d, by the rules in SQL %d\n",
		r.Returning, r.Dropped, r.InGo, r.InSQL)
	fmt.Fprintf(&b, "peak RSS %d MB\n", r.PeakRSSBytes>>20)
	return b.String()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func rates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, ", ")
}

// Privacy loads, stitches and calculates the demo store (unless it holds
// the events already), times one Erase of Erase people, then times ingest
// rounds of Ingest new events through an ingester that drops suppressed
// identifiers, alternately with an empty list and one of Suppressed
// identifiers.
func Privacy(ctx context.Context, opts PrivacyOpts) (*PrivacyReport, error) {
	opts.withDefaults()
	cfg, err := config.Parse(demo.Config)
	if err != nil {
		return nil, err
	}
	r := &PrivacyReport{Backend: opts.DB.Dialect(), Events: opts.Events}
	demoOpts := demo.Options{Seed: opts.Seed, Customers: opts.Customers, EventsPerCustomer: float64(opts.Events) / float64(opts.Customers)}
	if _, r.LoadTime, err = ensureLoaded(ctx, opts.DB, demoOpts, opts.Events, opts.Progress); err != nil {
		return nil, err
	}
	if r.StitchTime, err = ensureStitched(ctx, opts.DB, cfg.Stitching, opts.Progress); err != nil {
		return nil, err
	}
	if r.AttrTime, err = ensureCalculated(ctx, opts.DB, cfg, opts.Progress); err != nil {
		return nil, err
	}
	if err := opts.DB.QueryRowContext(ctx, "SELECT count(*) FROM entities WHERE merged_into IS NULL").Scan(&r.Entities); err != nil {
		return nil, err
	}
	if opts.Prepare {
		return r, nil
	}

	people, err := somePeople(ctx, opts.DB, opts.Erase)
	if err != nil {
		return nil, err
	}
	returning, err := identifiersOf(ctx, opts.DB, people)
	if err != nil {
		return nil, err
	}
	opts.Progress(fmt.Sprintf("erasing %d people", len(people)))
	start, cpu := time.Now(), processCPU()
	if r.Erased, err = erasure.Erase(ctx, opts.DB, people); err != nil {
		return nil, err
	}
	r.EraseTime, r.EraseCPU, r.People = time.Since(start), processCPU()-cpu, len(people)

	if err := ingestRounds(ctx, opts, cfg.Stitching, returning, r); err != nil {
		return nil, err
	}
	r.PeakRSSBytes = peakRSS()
	return r, nil
}

// ensureCalculated calculates the attributes unless some were.
func ensureCalculated(ctx context.Context, db *store.DB, cfg *config.Config, progress func(string)) (time.Duration, error) {
	var any int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM customer_attributes LIMIT 1) x").Scan(&any)
	if err != nil || any > 0 {
		return 0, err
	}
	eng, err := attr.New(db, cfg.Attributes, cfg.Context, nil)
	if err != nil {
		return 0, err
	}
	progress("calculating the attributes")
	start := time.Now()
	_, err = eng.Run(ctx, attr.RunOptions{FromScratch: true})
	return time.Since(start), err
}

// somePeople picks n live entities, spread over the log.
func somePeople(ctx context.Context, db *store.DB, n int) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT id FROM entities WHERE merged_into IS NULL ORDER BY md5(id) LIMIT $1", n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// identifier is one identifier of an erased person.
type identifier struct{ category, value string }

// identifiersOf are the identifiers of the people.
func identifiersOf(ctx context.Context, db *store.DB, people []string) ([]identifier, error) {
	rows, err := db.QueryContext(ctx, `SELECT category, value FROM identifiers
		WHERE entity_id IN (SELECT unnest(CAST($1 AS TEXT[]))) ORDER BY category, value`, people)
	if err != nil {
		return nil, fmt.Errorf("read the identifiers of the people to erase: %w", err)
	}
	defer rows.Close()
	var out []identifier
	for rows.Next() {
		var id identifier
		if err := rows.Scan(&id.category, &id.value); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// returnEvery: one event in returnEvery of an ingest round comes from an
// erased person coming back; the others are new people's. Suppressed
// people rarely return, but a batch of 20,000 events still holds a few.
const returnEvery = 1000

// withReturning puts an event of one of the erased people's identifiers
// after every returnEvery events.
func withReturning(events iter.Seq[demo.Event], ids []identifier, round uint64) iter.Seq[demo.Event] {
	return func(yield func(demo.Event) bool) {
		n := 0
		for e := range events {
			if !yield(e) {
				return
			}
			if n++; n%returnEvery != 0 || len(ids) == 0 {
				continue
			}
			k := n / returnEvery
			if !yield(returningEvent(ids[k%len(ids)], fmt.Sprintf("returning-%d-%d", round, k), e.EventTime)) {
				return
			}
		}
	}
}

// returningEvent is an event carrying the identifier under the demo's
// stitching rules: a page view for a cookie, a form for an e-mail, a CRM
// update for the rest (a CRM id).
func returningEvent(id identifier, eventID string, at time.Time) demo.Event {
	e := demo.Event{ID: eventID, SourceID: "crm", Type: "customer_update", Version: "1-0-0", EventTime: at}
	switch id.category {
	case "cookie_id":
		e.SourceID, e.Type = "web", "page_view"
	case "email":
		e.SourceID, e.Type = "web", "form_submit"
	}
	e.Payload, _ = json.Marshal(map[string]string{id.category: id.value})
	return e
}

// ingestRounds times ingest rounds alternately without and with a list of
// opts.Suppressed identifiers; the list is moved aside between rounds.
// Each round's events are new people's (past the store's customers), with
// one in returnEvery from the people erased (returning).
func ingestRounds(ctx context.Context, opts PrivacyOpts, rules stitch.Config, returning []identifier, r *PrivacyReport) error {
	db := opts.DB
	sup := erasure.NewSuppressor(db, func(context.Context) (stitch.Config, error) { return rules, nil })
	in := event.NewIngester(db, &event.IngesterOpts{Suppress: sup.DropQuery})
	// change changes the list as an erasure does: its version moves with it.
	change := func(q string) error {
		return db.InTx(ctx, func(tx store.ExecutorTx) error {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, tx.Query("ErasureListMoved"))
			return err
		})
	}
	for _, q := range []string{
		"CREATE TABLE bench_suppressed AS SELECT * FROM suppressed_identifiers",
		fmt.Sprintf(`INSERT INTO bench_suppressed SELECT weft_sha256('bench' || CAST(i AS TEXT)), 'bench', CURRENT_TIMESTAMP
			FROM generate_series(1, %d) g(i)`, max(0, opts.Suppressed-int(r.Erased.Suppressed))),
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("prepare the suppression list: %w", err)
		}
	}
	defer db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS bench_suppressed") //nolint:errcheck // best effort
	if err := change("DELETE FROM suppressed_identifiers"); err != nil {
		return fmt.Errorf("prepare the suppression list: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM bench_suppressed").Scan(&r.Suppressed); err != nil {
		return err
	}
	// settle folds the write-ahead log into the file before a timed round
	// on an embedded engine (DuckDB): the list's changes between rounds
	// write and delete its 100k rows, and the checkpoint they bring on
	// would land in whichever round first crosses checkpoint_threshold, a
	// stall of 2 to 3 s in a round of about 1 s, so that one round in three
	// measured half the throughput of the others. Every round now starts
	// from an empty log and none crosses the threshold (200k events write
	// about 60 MB of it); what checkpoints cost an ingested event is
	// measured by weft bench ingest.
	settle := func() error {
		if !db.Capabilities().SingleWriter() {
			return nil
		}
		_, err := db.ExecContext(ctx, "CHECKPOINT")
		return err
	}
	round := uint64(0)
	// ingest returns the round's events/s, CPU µs an event, and drops.
	ingest := func() (float64, float64, int, error) {
		if err := settle(); err != nil {
			return 0, 0, 0, fmt.Errorf("checkpoint before a round: %w", err)
		}
		round++
		// At most opts.Ingest customers a round: each round's are new.
		fresh := demo.Options{Seed: opts.Seed + 1000 + round, Customers: max(opts.Ingest/10, 1), EventsPerCustomer: 10,
			FirstCustomer: opts.Customers + int(round)*opts.Ingest}
		events := withReturning(demo.Stream(fresh, opts.Ingest), returning, round)
		start, cpu := time.Now(), processCPU()
		n, dropped, err := loadWith(ctx, in, events)
		if err != nil {
			return 0, 0, 0, err
		}
		all := float64(n + dropped)
		return all / time.Since(start).Seconds(), float64((processCPU() - cpu).Microseconds()) / all, dropped, nil
	}
	if len(returning) > 0 {
		r.Returning = opts.Ingest / returnEvery
	}
	for i := 0; i < opts.Rounds; i++ {
		opts.Progress(fmt.Sprintf("ingest round %d of %d", i+1, opts.Rounds))
		without, withoutCPU, _, err := ingest()
		if err != nil {
			return err
		}
		if err := change("INSERT INTO suppressed_identifiers SELECT * FROM bench_suppressed"); err != nil {
			return err
		}
		goBefore, sqlBefore := sup.Decisions()
		with, withCPU, dropped, err := ingest()
		if err != nil {
			return err
		}
		inGo, inSQL := sup.Decisions()
		r.InGo, r.InSQL, r.Dropped = r.InGo+inGo-goBefore, r.InSQL+inSQL-sqlBefore, r.Dropped+dropped
		if err := change("DELETE FROM suppressed_identifiers"); err != nil {
			return err
		}
		r.Without, r.With = append(r.Without, without), append(r.With, with)
		r.WithoutCPU, r.WithCPU = append(r.WithoutCPU, withoutCPU), append(r.WithCPU, withCPU)
	}
	// The erased people's identifiers stay suppressed.
	return change("INSERT INTO suppressed_identifiers SELECT * FROM bench_suppressed WHERE category <> 'bench'")
}
