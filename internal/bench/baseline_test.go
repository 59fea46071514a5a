package bench_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// unguarded is the demo's stitching config without max_per_entity: no
// guard rail can refuse a link, so Weft's partition is the components of
// the link graph, which the SQL baseline computes too.
func unguarded() stitch.Config {
	cfg := bench.DemoStitchConfig
	cfg.Identifiers = maps.Clone(cfg.Identifiers)
	for cat, id := range cfg.Identifiers {
		id.MaxPerEntity = 0
		cfg.Identifiers[cat] = id
	}
	return cfg
}

// TestSQLBaselineEqualsWeft checks, on both backends, that the SQL
// baseline partitions a demo store as Weft's rebuild does when no guard
// rail is set, blocked values and patterns included.
func TestSQLBaselineEqualsWeft(t *testing.T) {
	cfg := unguarded()
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := dbtest.Open(t, backend)
			if _, err := bench.Load(ctx, db, demo.Events(demo.Options{Customers: 300})); err != nil {
				t.Fatal(err)
			}
			// Two contacts with the blocked crm_id "000" (blocked_pattern
			// ^0+$), and two with the blocked email "none": never joined.
			dbtest.Ingest(t, db,
				`{"id":"z1","source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2026-02-01T00:00:00Z","payload":{"crm_id":"000","email":"z1@example.org"}}`,
				`{"id":"z2","source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2026-02-01T00:00:01Z","payload":{"crm_id":"000","email":"z2@example.org"}}`,
				`{"id":"z3","source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2026-02-01T00:00:02Z","payload":{"crm_id":"CRM-Z3","email":" None"}}`,
				`{"id":"z4","source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2026-02-01T00:00:03Z","payload":{"crm_id":"CRM-Z4","email":"none"}}`)
			// A chain of 40 forms, each sharing its cookie with the one
			// before and its email with the one after: the smallest label
			// takes about 40 rounds to reach the far end.
			var chain []string
			for i := range 40 {
				chain = append(chain, fmt.Sprintf(`{"id":"chain%d","source_id":"web","type":"form_submit","version":"1-0-0","event_time":"2026-02-02T00:00:00Z","payload":{"cookie_id":"ck_chain%d","email":"chain%d@example.org"}}`,
					i, i/2, (i+1)/2))
			}
			dbtest.Ingest(t, db, chain...)
			eng, err := stitch.New(db, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Rebuild(ctx, 0); err != nil {
				t.Fatal(err)
			}
			weft := groups(t, db, "SELECT event_seq, entity_id FROM entity_events")

			labels := map[int64][]int64{}
			r, err := bench.SQLBaseline(ctx, bench.BaselineOpts{DB: db, Config: cfg, Labels: func(seq, label int64) error {
				labels[label] = append(labels[label], seq)
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", r)
			baseline := canonical(slices.Collect(maps.Values(labels)))
			if !slices.Equal(weft, baseline) {
				t.Fatalf("partitions differ: Weft %d entities, baseline %d", len(weft), len(baseline))
			}
			if r.Entities != int64(len(baseline)) || r.Rounds < 20 || r.Bridges == 0 || r.Identifiers == 0 || r.Time <= 0 {
				t.Errorf("report %+v for %d entities", r, len(baseline))
			}
			// The partition is not trivial: most events share an entity.
			var events int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM event_log").Scan(&events); err != nil {
				t.Fatal(err)
			}
			if len(baseline) > events/4 {
				t.Errorf("%d entities of %d events", len(baseline), events)
			}
			// The blocked values joined nothing.
			for _, pair := range [][2]string{{"z1", "z2"}, {"z3", "z4"}} {
				if a, b := seqOf(t, db, pair[0]), seqOf(t, db, pair[1]); sameGroup(labels, a, b) {
					t.Errorf("%s and %s were joined through a blocked value", pair[0], pair[1])
				}
			}
		})
	}
}

// groups reads (seq, group) rows into a canonical partition.
func groups(t *testing.T, db store.Executor, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byGroup := map[string][]int64{}
	for rows.Next() {
		var seq int64
		var g string
		if err := rows.Scan(&seq, &g); err != nil {
			t.Fatal(err)
		}
		byGroup[g] = append(byGroup[g], seq)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return canonical(slices.Collect(maps.Values(byGroup)))
}

// canonical is a partition as sorted strings of sorted seqs, sorted: two
// partitions are equal as sets of sets when these are.
func canonical(sets [][]int64) []string {
	out := make([]string, len(sets))
	for i, s := range sets {
		slices.Sort(s)
		var b strings.Builder
		for _, seq := range s {
			fmt.Fprintf(&b, "%d,", seq)
		}
		out[i] = b.String()
	}
	slices.Sort(out)
	return out
}

func seqOf(t *testing.T, db store.Executor, id string) int64 {
	t.Helper()
	var seq int64
	if err := db.QueryRowContext(context.Background(), "SELECT seq FROM event_log WHERE id = $1", id).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

func sameGroup(labels map[int64][]int64, a, b int64) bool {
	for _, seqs := range labels {
		if slices.Contains(seqs, a) {
			return slices.Contains(seqs, b)
		}
	}
	return false
}

// TestStitchBaselineAndSplitPass runs the stitching benchmark with the SQL
// baseline and the incremental pass with splits at a small size, on both
// backends.
func TestStitchBaselineAndSplitPass(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			db, r := stitchBench(t, backend, bench.StitchOpts{Events: 20_000, Customers: 2_000,
				Incremental: 1_000, SplitPass: 1_000, Baseline: "sql"})
			bl := r.Baseline
			// Without guard rails the baseline joins at least what Weft joins.
			if bl == nil || bl.Time <= 0 || bl.Rounds < 2 || bl.Entities <= 0 || bl.Entities > r.Entities || bl.Identifiers < 20_000 {
				t.Fatalf("baseline %+v, Weft's rebuild %d entities", bl, r.Entities)
			}
			if r.SplitTriggers != 10 || r.SplitPassResult.EventsProcessed != 1_000 || r.SplitPassTime <= 0 {
				t.Fatalf("split pass: %d triggers, %+v in %s", r.SplitTriggers, r.SplitPassResult, r.SplitPassTime)
			}
			for _, want := range []string{"incremental with splits: 1000 events, 10 of them", "SQL baseline", "rounds", "as fast as the baseline"} {
				if !strings.Contains(r.String(), want) {
					t.Errorf("report lacks %q", want)
				}
			}
			if _, err := bench.Stitch(context.Background(), bench.StitchOpts{DB: db, Baseline: "dbt"}); err == nil {
				t.Error("an unknown baseline was accepted")
			}
		})
	}
}

// TestStitchSplitScenario checks that the pass with splits really splits:
// every pair that a shared email joined is two entities after it, B's
// log-in with B's earlier events. It needs the order-independent engine
// (issue 18); the arrival-order engine refuses the log-in's link instead.
func TestStitchSplitScenario(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			_, r := stitchBench(t, backend, bench.StitchOpts{Events: 2_000, Customers: 200, Incremental: -1, SplitPass: 1_000})
			if r.SplitTriggers != 10 || r.SplitsApart != r.SplitTriggers {
				t.Fatalf("%d of %d pairs apart after the pass with splits", r.SplitsApart, r.SplitTriggers)
			}
		})
	}
}

// stitchBench runs the stitching benchmark on a fresh store of the backend,
// in parallel with the other backend's run.
func stitchBench(t *testing.T, backend string, opts bench.StitchOpts) (*store.DB, *bench.StitchReport) {
	t.Helper()
	t.Parallel()
	opts.DB = dbtest.Open(t, backend)
	r, err := bench.Stitch(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	return opts.DB, r
}
