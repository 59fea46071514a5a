package erasure_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestEraseSegments: an erasure deletes the erased people's segment
// memberships and the record of their changes (also those no destination
// has sent), of every entity they were; the others' stay, and so do the
// runs, which hold counts only.
func TestEraseSegments(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, backend)
			loser := f.aliceIDs[1]
			for _, q := range []string{
				`INSERT INTO segment_members VALUES ('buyers', '` + f.aliceID + `', CURRENT_TIMESTAMP),
					('vips', '` + f.aliceID + `', CURRENT_TIMESTAMP), ('buyers', '` + f.bobID + `', CURRENT_TIMESTAMP)`,
				`INSERT INTO segment_changes (segment_id, entity_id, change, changed_at, run_id) VALUES
					('buyers', '` + loser + `', 'entered', CURRENT_TIMESTAMP, 'r1'),
					('buyers', '` + loser + `', 'exited', CURRENT_TIMESTAMP, 'r2'),
					('buyers', '` + f.aliceID + `', 'entered', CURRENT_TIMESTAMP, 'r2'),
					('vips', '` + f.aliceID + `', 'entered', CURRENT_TIMESTAMP, 'r2'),
					('buyers', '` + f.bobID + `', 'entered', CURRENT_TIMESTAMP, 'r2')`,
				`INSERT INTO segment_runs VALUES ('buyers', 'r2', false, 2, 2, 1, 'ok', NULL, 1.5, CURRENT_TIMESTAMP)`,
				// Per-event values a segment condition kept, of every event.
				`INSERT INTO segment_event_values (key, seq, v) SELECT 7, seq, 1 FROM event_log`,
				// A copy of payload fields, of every event, holding what
				// the payload holds (a backend that keeps the copy adds
				// its own below).
				`INSERT INTO segment_event_fields (tkey, seq, c1) SELECT 7, seq, CAST(payload AS TEXT) FROM event_log`,
			} {
				if _, err := f.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := segment.New(f.db, nil, nil, nil).KeepFields(ctx); err != nil {
				t.Fatal(err)
			}
			copied := column(t, f, "SELECT CAST(count(*) AS TEXT) FROM segment_event_fields WHERE tkey <> 7")
			if f.db.Capabilities().PayloadFields() == (copied == "0") {
				t.Fatalf("%s rows of the payload fields copied", copied)
			}
			// The copy holds numbers too (migration 057), in the same rows:
			// alice's totals among them.
			numbers := "SELECT CAST(count(*) AS TEXT) FROM segment_event_fields WHERE tkey <> 7 AND coalesce(" +
				"n1, n2, n3, n4, n5, n6, n7, n8, n9, n10, n11, n12, n13, n14, n15, n16, n17, n18, n19, n20, n21, n22, n23, n24) IS NOT NULL"
			if got := column(t, f, numbers+" AND seq IN (SELECT event_seq FROM entity_events WHERE entity_id = '"+f.aliceID+"')"); f.db.Capabilities().PayloadFields() == (got == "0") {
				t.Fatalf("%s rows of alice's events with copied numbers", got)
			}
			if found := traces(t, f.db, f.aliceIDs...); !strings.Contains(strings.Join(found, "\n"), "segment_changes") {
				t.Fatalf("the fixture holds no segment change of alice: %v", found)
			}

			if _, err := erasure.Erase(ctx, f.db, []string{f.aliceID}); err != nil {
				t.Fatal(err)
			}
			if found := traces(t, f.db, f.aliceIDs...); len(found) > 0 {
				t.Errorf("traces of alice after the erasure:\n%s", strings.Join(found, "\n"))
			}
			for q, want := range map[string]string{
				"SELECT segment_id || ':' || entity_id FROM segment_members":                        "buyers:" + f.bobID,
				"SELECT segment_id || ':' || entity_id || ':' || change FROM segment_changes":       "buyers:" + f.bobID + ":entered",
				"SELECT segment_id || ':' || run_id || ':' || CAST(size AS TEXT) FROM segment_runs": "buyers:r2:2",
			} {
				if got := column(t, f, q); got != want {
					t.Errorf("%s: %s, want %s", q, got, want)
				}
			}
			if got := column(t, f, "SELECT CAST(count(*) AS TEXT) FROM segment_event_values WHERE seq NOT IN (SELECT seq FROM event_log)"); got != "0" {
				t.Errorf("%s per-event values of erased events left", got)
			}
			if got := column(t, f, "SELECT CAST(count(*) AS TEXT) FROM segment_event_values"); got == "0" {
				t.Error("the erasure deleted the per-event values of the events it kept")
			}
			for _, tkeys := range []string{"tkey = 7", "tkey <> 7"} {
				if got := column(t, f, "SELECT CAST(count(*) AS TEXT) FROM segment_event_fields WHERE "+tkeys+" AND seq NOT IN (SELECT seq FROM event_log)"); got != "0" {
					t.Errorf("%s copied fields of erased events left (%s)", got, tkeys)
				}
			}
			if got := column(t, f, "SELECT CAST(count(*) AS TEXT) FROM segment_event_fields WHERE tkey = 7"); got == "0" {
				t.Error("the erasure deleted the copied fields of the events it kept")
			}
			if got := column(t, f, numbers+" AND seq NOT IN (SELECT seq FROM event_log)"); got != "0" {
				t.Errorf("%s rows of copied numbers of erased events left", got)
			}
			of, err := f.db.SegmentsOf(ctx, []string{f.aliceID, f.bobID})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(of) != fmt.Sprintf("map[%s:[buyers]]", f.bobID) {
				t.Errorf("segments after the erasure: %v", of)
			}
		})
	}
}

// column reads a query's one text column, rows joined by commas.
func column(t *testing.T, f *fixture, q string) string {
	t.Helper()
	rows, err := f.db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ",")
}
