package stitch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/worked"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var backends = dbtest.Backends

func openStore(t *testing.T, backend string) *store.DB { return dbtest.Open(t, backend) }

var ingest = dbtest.Ingest

// newEngine returns an engine of the config over the store's database.
func newEngine(t *testing.T, s *store.DB, cfg stitch.Config) *stitch.Engine {
	t.Helper()
	eng, err := stitch.New(s, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// partition returns the entities as sorted lists of event ids, sorted.
func partition(t *testing.T, s *store.DB) []string {
	t.Helper()
	rows, err := s.QueryContext(context.Background(),
		`SELECT e.id, ee.entity_id FROM entity_events ee JOIN event_log e ON e.seq = ee.event_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	groups := map[string][]string{}
	for rows.Next() {
		var id, ent string
		if err := rows.Scan(&id, &ent); err != nil {
			t.Fatal(err)
		}
		groups[ent] = append(groups[ent], id)
	}
	var out []string
	for _, g := range groups {
		sort.Strings(g)
		out = append(out, strings.Join(g, ","))
	}
	sort.Strings(out)
	return out
}

func entityOf(t *testing.T, s *store.DB, eventID string) string {
	t.Helper()
	var ent string
	err := s.QueryRowContext(context.Background(),
		`SELECT ee.entity_id FROM entity_events ee JOIN event_log e ON e.seq = ee.event_seq WHERE e.id = $1`, eventID).Scan(&ent)
	if err != nil {
		t.Fatal(err)
	}
	return ent
}

// workedConfig is the stitching of the worked example.
var workedConfig = func() stitch.Config {
	cfg, err := config.Parse([]byte(worked.Config))
	if err != nil {
		panic(err)
	}
	return cfg.Stitching
}()

var workedEvents = worked.Events

// TestWorkedExample is the fixture of specs/meiro_cps.md section 11.
func TestWorkedExample(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			eng := newEngine(t, s, workedConfig)
			if err := eng.ValidateSQL(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ingest(t, s, workedEvents[:4]...)
			res, err := eng.Run(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := partition(t, s); strings.Join(got, " ") != "e1,e2 e3,e4" || res.EntitiesCreated != 2 {
				t.Fatalf("after e1..e4: %v, %+v", got, res)
			}
			p, q := entityOf(t, s, "e1"), entityOf(t, s, "e3")
			ingest(t, s, workedEvents[4:]...)
			res, err = eng.Run(ctx, 2) // small passes
			if err != nil {
				t.Fatal(err)
			}
			want := "e1,e2,e3,e4,e5,e6,e7 e8 e9"
			if got := partition(t, s); strings.Join(got, " ") != want {
				t.Fatalf("partition %v, want %s", got, want)
			}
			if res.Merges != 1 || res.EventsProcessed != 5 {
				t.Errorf("result %+v", res)
			}
			if entityOf(t, s, "e3") != p {
				t.Errorf("the merge kept %s, want the older entity %s", entityOf(t, s, "e3"), p)
			}
			var mergedInto, cat, val string
			var seq int64
			err = s.QueryRowContext(ctx, `SELECT e.merged_into, m.category, m.value, m.event_seq FROM entities e
				JOIN stitch_merges m ON m.loser = e.id WHERE e.id = $1`, q).Scan(&mergedInto, &cat, &val, &seq)
			if err != nil || mergedInto != p || cat != "stitching_meiro_id" || val != "cookie-B" {
				t.Errorf("tombstone and merge log of %s: %s %s %s %d %v", q, mergedInto, cat, val, seq, err)
			}
			res, err = eng.Rebuild(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := partition(t, s); strings.Join(got, " ") != want {
				t.Fatalf("rebuild partition %v, want %s", got, want)
			}
			if res.Merges != 0 || res.EntitiesCreated != 3 {
				t.Errorf("rebuild %+v", res)
			}
		})
	}
}

func TestBlockedValuesAndBadSQL(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			ctx := context.Background()
			cfg := stitch.Config{
				Rules: []stitch.Rule{{Identifier: "stitching_email", Event: "crm/customer_update", ValueExpression: "lower(trim(payload->>'email'))"}},
				Identifiers: map[string]stitch.Identifier{"stitching_email": {
					BlockedValues: []string{"none", ""}, BlockedPattern: "^0+$",
				}},
			}
			ingest(t, s,
				worked.Record("a", "crm/customer_update", "2024-01-01T10:00", `{"email":"None"}`),
				worked.Record("b", "crm/customer_update", "2024-01-01T10:01", `{"email":" NONE"}`),
				worked.Record("c", "crm/customer_update", "2024-01-01T10:02", `{"email":"000"}`),
				worked.Record("d", "crm/customer_update", "2024-01-01T10:03", `{"email":"000"}`),
				worked.Record("e", "crm/customer_update", "2024-01-01T10:04", `{"email":"x@y.z"}`),
				worked.Record("f", "crm/customer_update", "2024-01-01T10:05", `{"email":"X@y.z"}`),
			)
			eng := newEngine(t, s, cfg)
			if _, err := eng.Run(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(partition(t, s), " "); got != "a b c d e,f" {
				t.Errorf("partition %s", got)
			}
			var n int64
			s.QueryRowContext(ctx, `SELECT sum(events) FROM stitch_audit WHERE reason = 'blocked'`).Scan(&n)
			if n != 4 {
				t.Errorf("%d blocked values audited, want 4", n)
			}
			bad := stitch.Config{Rules: []stitch.Rule{
				cfg.Rules[0],
				{Identifier: "stitching_phone", Event: "crm/customer_update", ValueExpression: "lower(payload->>'phone'"},
			}}
			err := newEngine(t, s, bad).ValidateSQL(ctx)
			var rerr *stitch.RuleError
			if !errors.As(err, &rerr) || rerr.Index != 1 || !strings.Contains(err.Error(), "stitching_phone") {
				t.Errorf("invalid SQL: %v", err)
			}
		})
	}
}

// TestGuardRail: a value shared by many people (a shop's default email)
// must not glue them together. A kiosk cookie whose sign-ups carry more
// emails than max_per_entity is ambiguous and links none of them; a
// chain of cookies, each within the limit, is cut by the guard rail.
func TestGuardRail(t *testing.T) {
	cfg := stitch.Config{
		Rules: []stitch.Rule{
			{Identifier: "cookie", Event: "web/form_submit", ValueExpression: "payload->>'cookie'"},
			{Identifier: "cookie", Event: "web/form_submit", ValueExpression: "payload->>'cookie2'"},
			{Identifier: "email", Event: "web/form_submit", ValueExpression: "payload->>'email'"},
		},
		Identifiers: map[string]stitch.Identifier{"email": {MaxPerEntity: 2}},
	}
	kiosk := func() []string {
		var lines []string
		for i := range 6 {
			lines = append(lines, worked.Record(fmt.Sprintf("p%d", i), "web/form_submit", fmt.Sprintf("2024-01-01T10:0%d", i),
				fmt.Sprintf(`{"cookie":"kiosk","email":"person%d@x.io"}`, i)))
		}
		// The kiosk's anonymous page views stay together, as the device.
		for i := range 2 {
			lines = append(lines, worked.Record(fmt.Sprintf("v%d", i), "web/form_submit", fmt.Sprintf("2024-01-01T11:0%d", i), `{"cookie":"kiosk"}`))
		}
		return lines
	}
	// c1's events carry two emails and c2's two, within the limit; the
	// bridge joins four. Links are decided c1 first (by value): c2's
	// events with their own emails would make three and are refused.
	chain := []string{
		worked.Record("c0", "web/form_submit", "2024-01-01T10:00", `{"cookie":"c1","email":"a@x.io"}`),
		worked.Record("c1", "web/form_submit", "2024-01-01T10:01", `{"cookie":"c1","email":"b@x.io"}`),
		worked.Record("c2", "web/form_submit", "2024-01-01T10:02", `{"cookie":"c1","cookie2":"c2"}`),
		worked.Record("c3", "web/form_submit", "2024-01-01T10:03", `{"cookie":"c2","email":"c@x.io"}`),
		worked.Record("c4", "web/form_submit", "2024-01-01T10:04", `{"cookie":"c2","email":"d@x.io"}`),
	}
	for _, tc := range []struct {
		name      string
		lines     []string
		partition string
		reason    string
		refused   int64
	}{
		{"kiosk", kiosk(), "p0 p1 p2 p3 p4 p5 v0,v1", "ambiguous", 6},
		{"chain", chain, "c0,c1,c2 c3 c4", "max_per_entity", 2},
	} {
		for _, backend := range backends {
			t.Run(tc.name+"/"+backend, func(t *testing.T) {
				t.Parallel()
				s := openStore(t, backend)
				ctx := context.Background()
				ingest(t, s, tc.lines...)
				eng := newEngine(t, s, cfg)
				if _, err := eng.Run(ctx, 0); err != nil {
					t.Fatal(err)
				}
				got := strings.Join(partition(t, s), " ")
				if got != tc.partition {
					t.Errorf("partition %s, want %s", got, tc.partition)
				}
				var n int64
				s.QueryRowContext(ctx, `SELECT sum(events) FROM stitch_audit WHERE reason = $1`, tc.reason).Scan(&n)
				if n != tc.refused {
					t.Errorf("%d links refused as %s audited, want %d", n, tc.reason, tc.refused)
				}
				// One pass per event gives the same.
				if _, err := eng.Rebuild(ctx, 1); err != nil {
					t.Fatal(err)
				}
				if again := strings.Join(partition(t, s), " "); again != got {
					t.Errorf("batch size 1 gave %s, one pass %s", again, got)
				}
			})
		}
	}
}

// demoConfig is the demo dataset's weft.yaml, as the quickstart applies it.
var demoConfig = func() stitch.Config {
	cfg, err := config.Parse(demo.Config)
	if err != nil {
		panic(err)
	}
	return cfg.Stitching
}()

// TestIncrementalEqualsRebuild is the property test: on generated data,
// every batch size gives the partition of a rebuild from scratch, and with
// the demo rules the partition matches the generator's truth.
func TestIncrementalEqualsRebuild(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			ctx := context.Background()
			opts := demo.Options{Customers: 120, Seed: 3}
			lines, truth := demoLines(opts), demo.Truth(demo.Events(opts))
			eng := newEngine(t, s, demoConfig)
			// A second engine, as another process would have, takes every
			// other part: each must notice the other's passes.
			other := newEngine(t, s, demoConfig)
			// Ingest in three parts with stitching in between, as in serve.
			third := len(lines) / 3
			for i, part := range [][]string{lines[:third], lines[third : 2*third], lines[2*third:]} {
				ingest(t, s, part...)
				if _, err := []*stitch.Engine{eng, other}[i%2].Run(ctx, 97); err != nil {
					t.Fatal(err)
				}
			}
			incremental := partition(t, s)
			checkCounts(t, s)
			for _, size := range []int{1000, 0} {
				if _, err := eng.Rebuild(ctx, size); err != nil {
					t.Fatal(err)
				}
				if got := partition(t, s); strings.Join(got, " ") != strings.Join(incremental, " ") {
					t.Fatalf("batch size %d: %d entities, incremental %d", size, len(got), len(incremental))
				}
			}
			// Without the in-memory index, and with key hashes that collide
			// all the time: the same partition.
			noIndex := newEngine(t, s, demoConfig)
			stitch.DisableIndex(noIndex)
			colliding := newEngine(t, s, demoConfig)
			stitch.NarrowKeyHash(colliding, 4)
			collidingNoIndex := newEngine(t, s, demoConfig)
			stitch.NarrowKeyHash(collidingNoIndex, 4)
			stitch.DisableIndex(collidingNoIndex)
			for name, e := range map[string]*stitch.Engine{"no index": noIndex, "colliding hashes": colliding, "colliding hashes, no index": collidingNoIndex} {
				if _, err := e.Rebuild(ctx, 0); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Rebuild(ctx, 113); err != nil {
					t.Fatal(err)
				}
				if got := partition(t, s); strings.Join(got, " ") != strings.Join(incremental, " ") {
					t.Fatalf("%s: %d entities, incremental %d", name, len(got), len(incremental))
				}
				checkCounts(t, s)
			}
			precision, recall := pairScores(incremental, truth)
			t.Logf("%d events, %d entities; pairwise precision %.4f recall %.4f", len(lines), len(incremental), precision, recall)
			if precision != 1 {
				t.Errorf("precision %.4f: events of different customers were stitched together", precision)
			}
			if recall < 0.5 {
				t.Errorf("recall %.4f is implausibly low", recall)
			}
		})
	}
}

// pairScores scores a partition (comma-joined event ids per entity).
func pairScores(entities []string, truth map[string]int) (precision, recall float64) {
	entityOf := map[string]string{}
	for _, g := range entities {
		for _, id := range strings.Split(g, ",") {
			entityOf[id] = g
		}
	}
	return demo.PairScores(entityOf, truth)
}

// TestTrapsKeepPrecision stitches a dataset big enough to hold many of the
// generator's traps (households sharing an email, shop tablets sharing a
// cookie) and checks that the demo rules glue no two customers together.
func TestTrapsKeepPrecision(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			ctx := context.Background()
			opts := demo.Options{Customers: 1500, Seed: 11}
			lines, truth := demoLines(opts), demo.Truth(demo.Events(opts))
			households, kiosks := 0, strings.Count(strings.Join(lines, "\n"), `"ck_kiosk_`)
			for i := range opts.Customers {
				if demo.CustomerAt(opts, i).Household {
					households++
				}
			}
			if households < 40 || kiosks < 20 {
				t.Fatalf("too few traps to test: %d household members, %d kiosk sign-ups", households, kiosks)
			}
			ingest(t, s, lines...)
			eng := newEngine(t, s, demoConfig)
			if _, err := eng.Run(ctx, 5000); err != nil {
				t.Fatal(err)
			}
			precision, recall := pairScores(partition(t, s), truth)
			t.Logf("%d events: pairwise precision %.4f recall %.4f", len(lines), precision, recall)
			if precision != 1 {
				t.Errorf("precision %.4f: the traps glued customers together", precision)
			}
			var refused int64
			s.QueryRowContext(ctx, `SELECT coalesce(sum(events), 0) FROM stitch_audit WHERE reason = 'max_per_entity'`).Scan(&refused)
			if refused == 0 {
				t.Error("no link was refused: the traps did not fire")
			}
		})
	}
}

// demoLines is the demo dataset as NDJSON lines.
func demoLines(opts demo.Options) []string {
	var lines []string
	for e := range demo.Events(opts) {
		lines = append(lines, string(e.AppendJSON(nil)))
	}
	return lines
}

// TestOddValues: identifier values and event ids travel packed into one
// text (pack.go); separators, escapes and empty values must survive.
func TestOddValues(t *testing.T) {
	odd := []string{"", "~", "a\u001fb", "\u001d", "\u001d?", "\u001d=", "x\u001ey", "tab\there", "new\nline", "ünï,cødé", "\u001f"}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			ctx := context.Background()
			cfg := stitch.Config{Rules: []stitch.Rule{{Identifier: "code", Event: "crm/customer_update", ValueExpression: "payload->>'code'"}}}
			var lines []string
			for i, v := range odd {
				for j := range 2 {
					id, _ := json.Marshal(fmt.Sprintf("ev\u001e%d\u001f%d", i, j))
					code, _ := json.Marshal(v)
					lines = append(lines, fmt.Sprintf(`{"id":%s,"source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2024-01-01T10:00:00Z","payload":{"code":%s}}`, id, code))
				}
			}
			ingest(t, s, lines...)
			eng := newEngine(t, s, cfg)
			for _, size := range []int{3, 0} {
				if _, err := eng.Rebuild(ctx, size); err != nil {
					t.Fatal(err)
				}
				if got := partition(t, s); len(got) != len(odd) {
					t.Fatalf("batch size %d: %d entities, want %d: %q", size, len(got), len(odd), got)
				}
				rows, err := s.QueryContext(ctx, `SELECT value FROM identifiers`)
				if err != nil {
					t.Fatal(err)
				}
				var vals []string
				for rows.Next() {
					var v string
					rows.Scan(&v)
					vals = append(vals, v)
				}
				rows.Close()
				want := slices.Clone(odd)
				sort.Strings(want)
				sort.Strings(vals)
				if !slices.Equal(vals, want) {
					t.Fatalf("identifier values %q, want %q", vals, want)
				}
				var bad int
				err = s.QueryRowContext(ctx, `SELECT count(*) FROM entities n
					WHERE NOT EXISTS (SELECT 1 FROM event_log e WHERE md5(e.id) = n.id)`).Scan(&bad)
				if err != nil || bad != 0 {
					t.Fatalf("%d entity ids are not the md5 of an event id (%v)", bad, err)
				}
			}
		})
	}
}

// checkCounts compares every live entity's identifier_counts with its rows
// in identifiers.
func checkCounts(t *testing.T, s *store.DB) {
	t.Helper()
	ctx := context.Background()
	want := map[string]map[string]int{}
	rows, err := s.QueryContext(ctx, `SELECT entity_id, category, count(*) FROM identifiers GROUP BY entity_id, category`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ent, cat string
		var n int
		if err := rows.Scan(&ent, &cat, &n); err != nil {
			t.Fatal(err)
		}
		if want[ent] == nil {
			want[ent] = map[string]int{}
		}
		want[ent][cat] = n
	}
	rows.Close()
	rows, err = s.QueryContext(ctx, `SELECT id, identifier_counts FROM entities WHERE merged_into IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ent, counts string
		if err := rows.Scan(&ent, &counts); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		if err := json.Unmarshal([]byte(counts), &got); err != nil {
			t.Fatal(err)
		}
		if w := want[ent]; len(got) != len(w) || fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("entity %s: identifier_counts %s, identifiers hold %v", ent, counts, w)
		}
	}
}

// TestSeqGaps: seqs with gaps (rolled-back appends) take the slower way of
// finding a batch and its events; the partition is the same.
func TestSeqGaps(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			ctx := context.Background()
			var lines []string
			for e := range demo.Events(demo.Options{Customers: 30, Seed: 5}) {
				lines = append(lines, string(e.AppendJSON(nil)))
			}
			ingest(t, s, lines...)
			if _, err := s.ExecContext(ctx, `DELETE FROM event_log WHERE seq % 3 = 0 OR (seq > 100 AND seq < 150)`); err != nil {
				t.Fatal(err)
			}
			var events int
			if err := s.QueryRowContext(ctx, `SELECT count(*) FROM event_log`).Scan(&events); err != nil {
				t.Fatal(err)
			}
			eng := newEngine(t, s, demoConfig)
			res, err := eng.Run(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			incremental := partition(t, s)
			if res.EventsProcessed != events {
				t.Fatalf("%d events processed, the log holds %d", res.EventsProcessed, events)
			}
			if _, err := eng.Rebuild(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if got := partition(t, s); strings.Join(got, " ") != strings.Join(incremental, " ") {
				t.Fatalf("rebuild: %d entities, incremental %d", len(got), len(incremental))
			}
			checkCounts(t, s)
		})
	}
}

// TestConcurrentPass: a pass whose batch another engine stitched and wrote
// in the meantime writes nothing and says so; the next Run carries on from
// the other engine's state (its index reloaded) to the partition of a rebuild.
func TestConcurrentPass(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			ctx := context.Background()
			var lines []string
			for e := range demo.Events(demo.Options{Customers: 40, Seed: 9}) {
				lines = append(lines, string(e.AppendJSON(nil)))
			}
			half := len(lines) / 2
			ingest(t, s, lines[:half]...)
			a := newEngine(t, s, demoConfig)
			b := newEngine(t, s, demoConfig)
			if _, err := a.Run(ctx, 50); err != nil {
				t.Fatal(err)
			}
			ingest(t, s, lines[half:]...)
			var entities, mapped int
			count := func() (int, int) {
				var n, m int
				s.QueryRowContext(ctx, `SELECT count(*) FROM entities`).Scan(&n)
				s.QueryRowContext(ctx, `SELECT count(*) FROM entity_events`).Scan(&m)
				return n, m
			}
			once := true
			stitch.BeforeWrite(a, func() {
				if once {
					once = false
					if _, err := b.Run(ctx, 30); err != nil {
						t.Error(err)
					}
					entities, mapped = count()
				}
			})
			if _, err := a.Run(ctx, 50); !errors.Is(err, stitch.ErrConcurrentPass) {
				t.Fatalf("Run after another engine's passes: %v, want ErrConcurrentPass", err)
			}
			if n, m := count(); n != entities || m != mapped || m != len(lines) {
				t.Fatalf("the refused pass wrote: %d entities, %d mapped events; before %d, %d (%d events)", n, m, entities, mapped, len(lines))
			}
			ingest(t, s, worked.Record("late", "crm/customer_update", "2026-05-01T10:00", `{"email":"late@x.io"}`))
			if res, err := a.Run(ctx, 50); err != nil || res.EventsProcessed != 1 {
				t.Fatalf("next Run: %+v, %v", res, err)
			}
			incremental := partition(t, s)
			checkCounts(t, s)
			if _, err := a.Rebuild(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if got := partition(t, s); strings.Join(got, " ") != strings.Join(incremental, " ") {
				t.Fatalf("rebuild: %d entities, incremental %d", len(got), len(incremental))
			}
		})
	}
}

// TestRuleEventAnyType: source/* reads every type of a source (the rules
// derived from the delivery section use it); a version needs a type.
func TestRuleEventAnyType(t *testing.T) {
	ok := stitch.Config{Rules: []stitch.Rule{{Identifier: "user_id", Event: "delivery/*", ValueExpression: "payload->>'u'"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("source/*: %v", err)
	}
	bad := stitch.Config{Rules: []stitch.Rule{{Identifier: "user_id", Event: "delivery/*/1", ValueExpression: "payload->>'u'"}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `a version needs a type, not *`) {
		t.Fatalf("source/*/1: %v", err)
	}
}

// TestVersionedRulesShareScan: a rule of one version of an event type is
// evaluated in the scan of the type it shares with a rule of every
// version (extractSQL), and must still read only the events of its
// version: an update of version 2-0-0 carrying the same email is no link.
func TestVersionedRulesShareScan(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, backend)
			cfg := stitch.Config{Rules: []stitch.Rule{
				{Identifier: "email", Event: "crm/customer_update/1-0-0", ValueExpression: "lower(payload->>'email')"},
				{Identifier: "crm_id", Event: "crm/customer_update", ValueExpression: "payload->>'crm_id'"},
			}}
			var lines []string
			for i, v := range []string{"1-0-0", "2-0-0"} {
				lines = append(lines, fmt.Sprintf(`{"id":"ev%d","source_id":"crm","type":"customer_update","version":%q,"event_time":"2024-01-01T10:00:0%dZ","payload":{"email":"A@x.org","crm_id":"C%d"}}`, i, v, i, i))
			}
			ingest(t, s, lines...)
			eng := newEngine(t, s, cfg)
			if _, err := eng.Rebuild(context.Background(), 0); err != nil {
				t.Fatal(err)
			}
			if got := partition(t, s); len(got) != 2 {
				t.Fatalf("entities %q, want two: the email of version 2-0-0 is not read", got)
			}
			var emails, crmIDs int
			err := s.QueryRowContext(context.Background(), `SELECT count(*) FILTER (WHERE category = 'email'), count(*) FILTER (WHERE category = 'crm_id') FROM identifiers`).Scan(&emails, &crmIDs)
			if err != nil || emails != 1 || crmIDs != 2 {
				t.Fatalf("%d emails and %d crm ids, want 1 and 2 (%v)", emails, crmIDs, err)
			}
		})
	}
}
