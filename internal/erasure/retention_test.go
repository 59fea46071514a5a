package erasure_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store/dbtest"
)

func countRows(t *testing.T, f *fixture, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestRetain: a source's events older than its period go, with their
// mappings; "*" covers the sources no entry names; entities stay and their
// attributes are due again; a second pass finds nothing.
func TestRetain(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, backend)
			// The fixture's events happened on 2026-01-01; these later.
			f.ingest(t,
				`{"id": "recent-web", "source_id": "web", "type": "page_view", "version": "1", "event_time": "2026-03-01T00:00:00Z", "payload": {"cookie_id": "ck-bob"}}`,
				`{"id": "recent-shop", "source_id": "shop", "type": "purchase", "version": "1", "event_time": "2026-03-01T00:00:00Z", "payload": {"email": "`+f.bob+`"}}`,
			)
			f.stitchAndCalculate(t)
			// Per-event values a segment condition kept, of every event.
			if _, err := f.db.ExecContext(ctx, "INSERT INTO segment_event_values (key, seq, v) SELECT 7, seq, 1 FROM event_log"); err != nil {
				t.Fatal(err)
			}
			// And a copy of their payload fields: raw rows, and the
			// engine's own where the backend keeps one.
			if _, err := f.db.ExecContext(ctx, "INSERT INTO segment_event_fields (tkey, seq, c1) SELECT 7, seq, 'x' FROM event_log"); err != nil {
				t.Fatal(err)
			}
			if err := segment.New(f.db, nil, nil, nil).KeepFields(ctx); err != nil {
				t.Fatal(err)
			}
			total := countRows(t, f, "SELECT count(*) FROM event_log")
			web := countRows(t, f, "SELECT count(*) FROM event_log WHERE source_id = 'web' AND event_time < '2026-02-01'")
			now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
			// web keeps 30 days; everything else (shop, delivery) 20 weeks.
			rules := []config.Retention{{Source: "web", Keep: "30d"}, {Source: "*", Keep: "20w"}}
			res, err := erasure.Retain(ctx, f.db, rules, now)
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != int64(web) || res.Sources["web"] != int64(web) || res.Sources["*"] != 0 {
				t.Errorf("retention deleted %+v, want the %d old web events only", res, web)
			}
			if res.Entities < 2 {
				t.Errorf("%d entities marked due, want alice's and bob's", res.Entities)
			}
			if n := countRows(t, f, "SELECT count(*) FROM event_log"); n != total-web {
				t.Errorf("%d events left, want %d", n, total-web)
			}
			if n := countRows(t, f, "SELECT count(*) FROM event_log WHERE id = 'recent-web'"); n != 1 {
				t.Error("the recent web event is gone")
			}
			if n := countRows(t, f, "SELECT count(*) FROM entity_events WHERE event_seq NOT IN (SELECT seq FROM event_log)"); n != 0 {
				t.Errorf("%d mappings of deleted events left", n)
			}
			if n := countRows(t, f, "SELECT count(*) FROM segment_event_values WHERE seq NOT IN (SELECT seq FROM event_log)"); n != 0 {
				t.Errorf("%d per-event values of deleted events left", n)
			}
			if n := countRows(t, f, "SELECT count(*) FROM segment_event_values"); n != total-web {
				t.Errorf("%d per-event values left, want those of the %d events kept", n, total-web)
			}
			if n := countRows(t, f, "SELECT count(*) FROM segment_event_fields WHERE seq NOT IN (SELECT seq FROM event_log)"); n != 0 {
				t.Errorf("%d copied fields of deleted events left", n)
			}
			if n := countRows(t, f, "SELECT count(*) FROM segment_event_fields WHERE tkey = 7"); n != total-web {
				t.Errorf("%d copied fields left, want those of the %d events kept", n, total-web)
			}
			if n, copied := countRows(t, f, "SELECT count(*) FROM segment_event_fields WHERE tkey <> 7"), f.db.Capabilities().PayloadFields(); copied && n != total-web || !copied && n != 0 {
				t.Errorf("%d fields the engine copied left, want those of the %d events kept (copies: %v)", n, total-web, copied)
			}
			if n := countRows(t, f, "SELECT count(*) FROM entities WHERE modified_at > attributes_calculated_at"); n < 2 {
				t.Errorf("%d entities due, want at least 2", n)
			}
			// The people are still there, and still found by identifier.
			if _, err := f.db.EntityFind(ctx, "cookie_id", "ck-alice-1"); err != nil {
				t.Errorf("alice's cookie after retention: %v", err)
			}
			f.stitchAndCalculate(t)
			if msg := cacheMismatch(t, f.db); msg != "" {
				t.Error(msg)
			}
			// A later "now" reaches the shop events through "*".
			res, err = erasure.Retain(ctx, f.db, rules, now.AddDate(0, 6, 0))
			if err != nil {
				t.Fatal(err)
			}
			if res.Sources["*"] != 4 || res.Sources["web"] != 1 {
				t.Errorf("second pass %+v, want 4 events under * (3 purchases, 1 delivery log) and the recent web event", res)
			}
			if n := countRows(t, f, "SELECT count(*) FROM event_log"); n != 0 {
				t.Errorf("%d events left", n)
			}
			again, err := erasure.Retain(ctx, f.db, rules, now.AddDate(0, 6, 0))
			if err != nil || again.Events != 0 {
				t.Errorf("third pass %+v, %v; want nothing", again, err)
			}
		})
	}
}
