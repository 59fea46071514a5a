package stitch_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// stitchTables are the tables a stitching pass writes, each with every
// column as text.
var stitchTables = map[string]string{
	"entities": `SELECT id, CAST(created_seq AS TEXT), CAST(created_at AS TEXT), CAST(modified_at AS TEXT), identifier_counts,
		CAST(first_event_us AS TEXT), merged_into, component FROM entities`,
	"identifiers":    `SELECT category, value, entity_id, CAST(first_seq AS TEXT), CAST(key_hash AS TEXT) FROM identifiers`,
	"entity_events":  `SELECT CAST(event_seq AS TEXT), entity_id, source_id, type, CAST(event_time AS TEXT) FROM entity_events`,
	"stitch_merges":  `SELECT survivor, loser, CAST(event_seq AS TEXT), category, value, CAST(merged_at AS TEXT) FROM stitch_merges`,
	"stitch_audit":   `SELECT category, value, reason, CAST(events AS TEXT), CAST(first_event_seq AS TEXT), CAST(recorded_at AS TEXT) FROM stitch_audit`,
	"stitch_refused": `SELECT entity_id, CAST(event_seq AS TEXT), category, value, reason, CAST(key_hash AS TEXT) FROM stitch_refused`,
	"stitch_splits": `SELECT entity_id, parts, category, value, CAST(event_seq AS TEXT), constraint_id, CAST(split_at AS TEXT)
		FROM stitch_splits`,
	"stitch_state": `SELECT CAST(watermark AS TEXT), CAST(updated_at AS TEXT) FROM stitch_state`,
}

// stitchState is every row of the stitching tables, sorted, per table.
// Where the backend has entity keys, every row of entity_events and
// identifiers must hold its entity's: the readers narrow by them. Every
// row of entity_events must hold its event's source, type and time, as
// the log has them: the segments' event conditions read them there.
func stitchState(t *testing.T, s *store.DB) map[string][]string {
	t.Helper()
	checkMappings(t, s, "")
	if key := s.Capabilities().EntityKey(); key != "" {
		for _, table := range []string{"entity_events", "identifiers"} {
			var wrong int
			if err := s.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table+" WHERE entity_key IS DISTINCT FROM "+key).Scan(&wrong); err != nil || wrong > 0 {
				t.Errorf("%s: %d rows without their entity key (%v)", table, wrong, err)
			}
		}
	}
	out := map[string][]string{}
	for table, q := range stitchTables {
		rows, err := s.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, v := range vals {
				if v.Valid {
					fmt.Fprintf(&b, "%q ", v.String)
				} else {
					b.WriteString("NULL ")
				}
			}
			out[table] = append(out[table], b.String())
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		sort.Strings(out[table])
	}
	return out
}

// checkMappings fails if a row of entity_events does not carry its
// event's source_id, type and event_time (or its event is gone from the
// log): a writer that left them NULL or wrong would hide events from the
// segments' event conditions.
func checkMappings(t *testing.T, s *store.DB, when string) {
	t.Helper()
	var wrong int
	if err := s.QueryRowContext(context.Background(), s.Query("StitchMappingsUnlikeLog")).Scan(&wrong); err != nil || wrong > 0 {
		t.Errorf("%s: %d event mappings without their event's source, type and time (%v)", when, wrong, err)
	}
}

// tickingClock reads one second later at each call, from a fixed time:
// two engines that read it as often, in the same order, write the same
// times.
func tickingClock() func() time.Time {
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	return func() time.Time {
		at = at.Add(time.Second)
		return at
	}
}

// TestBulkRebuildEqualsPassByPass: a rebuild keeps its passes' state in
// memory and writes it once (bulk.go); the tables must then hold exactly
// what writing each pass would have written (every row of every stitching
// table, clock readings included), and the passes after it must go on
// the same. The demo's traps (households, shop tablets) make merges across
// passes, guard-rail refusals, ambiguous identifiers and cut components;
// deleted events make batches with gaps in their seqs.
func TestBulkRebuildEqualsPassByPass(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			opts := demo.Options{Customers: 900, Seed: 5}
			lines := demoLines(opts)
			first, later := lines[:len(lines)-300], lines[len(lines)-300:]
			var states []map[string][]string
			for _, bulk := range []bool{true, false} {
				s := openStore(t, backend)
				ingest(t, s, first...)
				if _, err := s.ExecContext(ctx, `DELETE FROM event_log WHERE seq % 37 = 5`); err != nil {
					t.Fatal(err)
				}
				eng, err := stitch.New(s, demoConfig, &stitch.Opts{Now: tickingClock()})
				if err != nil {
					t.Fatal(err)
				}
				if bulk {
					// Its re-clusterings move mappings by copying them
					// (a large one's way), the other's by UPDATE.
					stitch.CopyMoves(eng)
				} else {
					stitch.PassByPass(eng)
				}
				res, err := eng.Rebuild(ctx, 997)
				if err != nil {
					t.Fatal(err)
				}
				if res.EventsProcessed < 4*997 || res.Merges == 0 {
					t.Fatalf("bulk %v: %+v: too few passes or merges to compare", bulk, res)
				}
				rebuilt := stitchState(t, s)
				// In one batch: both stores must give its events the same
				// seqs, in the batch's order.
				ingest(t, s, later...)
				if _, err := eng.Run(ctx, 70); err != nil {
					t.Fatal(err)
				}
				states = append(states, rebuilt, stitchState(t, s))
			}
			for i, when := range []string{"after the rebuild", "after the passes that followed it"} {
				bulk, plain := states[i], states[i+2]
				for table := range stitchTables {
					if len(bulk[table]) == 0 && table != "stitch_splits" {
						t.Errorf("%s: %s is empty", when, table)
					}
					if a, b := strings.Join(bulk[table], "\n"), strings.Join(plain[table], "\n"); a != b {
						t.Errorf("%s: %s differs: %d rows written at once, %d pass by pass\n%s", when, table,
							len(bulk[table]), len(plain[table]), firstDiff(bulk[table], plain[table]))
					}
				}
			}
			t.Logf("%d entity rows, %d identifiers, %d merges, %d audit rows, %d refused links compared",
				len(states[0]["entities"]), len(states[0]["identifiers"]), len(states[0]["stitch_merges"]),
				len(states[0]["stitch_audit"]), len(states[0]["stitch_refused"]))
		})
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("row %d:\n  at once:      %s\n  pass by pass: %s", i, a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}
