package stitch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/worked"
)

// householdConfig links form events by login id (priority 1), cookie (2)
// and email (3); one login and one email per person.
var householdConfig = stitch.Config{
	Rules: []stitch.Rule{
		{Identifier: "login", Event: "web/form_submit", ValueExpression: "payload->>'login'"},
		{Identifier: "cookie", Event: "web/form_submit", ValueExpression: "payload->>'cookie'"},
		{Identifier: "email", Event: "web/form_submit", ValueExpression: "lower(payload->>'email')"},
	},
	Identifiers: map[string]stitch.Identifier{
		"login":  {MaxPerEntity: 1, Priority: 1},
		"cookie": {Priority: 2},
		"email":  {MaxPerEntity: 1, Priority: 3},
	},
}

// householdLines are people in pairs sharing an email (every fourth pair),
// each signing up on their own device with it before logging in, and a
// kiosk cookie shared by several people with their own emails. truth maps
// each event id to its person.
func householdLines(people int, seed uint64) (lines []string, truth map[string]int) {
	r := rand.New(rand.NewPCG(seed, 1))
	truth = map[string]int{}
	n := 0
	add := func(person int, minute int, payload string) {
		id := fmt.Sprintf("h%d", n)
		n++
		// Minutes repeat across people: equal event times are common.
		at := fmt.Sprintf("2024-01-%02dT%02d:%02d", 1+person%28, 8+minute/60, minute%60)
		lines = append(lines, worked.Record(id, "web/form_submit", at, payload))
		truth[id] = person
	}
	for p := range people {
		email := fmt.Sprintf("Person%d@Example.org", p)
		if p%8 == 1 {
			email = fmt.Sprintf("person%d@example.org", p-1) // shares the household's
		}
		cookie := fmt.Sprintf("ck%d", p)
		add(p, r.IntN(30), fmt.Sprintf(`{"cookie":%q,"email":%q}`, cookie, email))
		for range r.IntN(3) {
			add(p, 30+r.IntN(30), fmt.Sprintf(`{"cookie":%q}`, cookie))
		}
		if p%5 != 4 || p%8 <= 1 { // household members log in
			add(p, 60+r.IntN(60), fmt.Sprintf(`{"cookie":%q,"login":"u%d"}`, cookie, p))
			add(p, 120+r.IntN(60), fmt.Sprintf(`{"login":"u%d","email":%q}`, p, email))
		}
		if p%6 == 0 {
			add(p, 200+r.IntN(30), fmt.Sprintf(`{"cookie":"kiosk","email":"person%d@example.org"}`, p))
		}
	}
	return lines, truth
}

// assignment lists every event with the id of its entity, sorted.
func assignment(t *testing.T, s *store.DB) string {
	t.Helper()
	rows, err := s.QueryContext(context.Background(),
		`SELECT e.id, ee.entity_id FROM entity_events ee JOIN event_log e ON e.seq = ee.event_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, ent string
		if err := rows.Scan(&id, &ent); err != nil {
			t.Fatal(err)
		}
		out = append(out, id+"="+ent)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestOrderIndependence: any arrival order and any batching of the same
// events give the same entities with the same ids, equal to a rebuild.
func TestOrderIndependence(t *testing.T) {
	lines, truth := householdLines(100, 7)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var want string
			for round := range 3 {
				s := openStore(t, backend)
				eng := newEngine(t, s, householdConfig)
				r := rand.New(rand.NewPCG(uint64(round), 9))
				order := append([]string(nil), lines...)
				if round > 0 {
					r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				}
				for len(order) > 0 {
					n := min(len(order), 1+r.IntN(120))
					ingest(t, s, order[:n]...)
					order = order[n:]
					if _, err := eng.Run(ctx, 1+r.IntN(50)); err != nil {
						t.Fatal(err)
					}
				}
				got := assignment(t, s)
				checkCounts(t, s)
				if round == 0 {
					want = got
					precision, recall := pairScores(partition(t, s), truth)
					t.Logf("%d events: pairwise precision %.4f recall %.4f", len(lines), precision, recall)
					if precision < 0.99 || recall < 0.98 {
						t.Errorf("precision %.4f recall %.4f, want at least 0.99 and 0.98", precision, recall)
					}
				} else if got != want {
					t.Fatalf("order %d gave other entities than arrival order", round)
				}
				kept := stitch.CarriedUsed(eng)
				if _, err := eng.Rebuild(ctx, 0); err != nil {
					t.Fatal(err)
				}
				if again := assignment(t, s); again != want {
					t.Fatalf("order %d: a rebuild gave other entities", round)
				}
				// Its cut components were re-clustered from the identifiers
				// its passes kept in the index, not read from the log again.
				if stitch.CarriedUsed(eng) == kept {
					t.Errorf("order %d: the rebuild's re-clustering read the log again", round)
				}
			}
		})
	}
}

// TestRestartedEngineReclusters: an engine started on a stitched store
// has no identifiers of the events earlier engines read, and re-clusters
// from the log (on DuckDB through the join of the region's seqs to the
// log); a new engine for every batch gives the entities one engine gives.
func TestRestartedEngineReclusters(t *testing.T) {
	lines, _ := householdLines(60, 3)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			one, fresh := openStore(t, backend), openStore(t, backend)
			eng := newEngine(t, one, householdConfig)
			r := rand.New(rand.NewPCG(5, 5))
			order := append([]string(nil), lines...)
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			logged := 0
			for len(order) > 0 {
				n := min(len(order), 1+r.IntN(80))
				ingest(t, one, order[:n]...)
				ingest(t, fresh, order[:n]...)
				order = order[n:]
				if _, err := eng.Run(ctx, 0); err != nil {
					t.Fatal(err)
				}
				restarted := newEngine(t, fresh, householdConfig)
				if _, err := restarted.Run(ctx, 0); err != nil {
					t.Fatal(err)
				}
				logged += stitch.LoggedUsed(restarted)
			}
			if logged == 0 {
				t.Fatal("no re-clustering read its events' identifiers from the log")
			}
			t.Logf("%d events' identifiers read from the log", logged)
			if a, b := assignment(t, one), assignment(t, fresh); a != b {
				t.Errorf("engines restarted for every batch gave other entities than one engine")
			}
		})
	}
}
