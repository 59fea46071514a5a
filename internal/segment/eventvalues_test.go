package segment_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	. "github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// count reads one integer.
func (f *fixture) count(q string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// defCondition is the condition of the config's segment id.
func (f *fixture) defCondition(id string) *Condition {
	f.t.Helper()
	defs := f.seg.Defs()
	for i := range defs {
		if defs[i].ID == id {
			return &defs[i].Condition
		}
	}
	f.t.Fatalf("no segment %s", id)
	return nil
}

// TestKeptEventValues: a run keeps the per-event values of the conditions
// with a where or a sum, for the events of their type for which the where
// holds, up to the log's last event; the next run adds the later events
// only; the members' query reads the kept values (tampered with, they
// change the members); a fill that raced another adds nothing.
func TestKeptEventValues(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, testYAML)
			f.people(30)
			// The log's last event as the run begins (it appends its
			// membership events after).
			top := f.count("SELECT max(seq) FROM event_log")
			f.run("run-1", RunOptions{})
			sum := f.defCondition("s_sum")
			key := ValueKey(sum)
			keys := map[int64]bool{}
			for _, id := range []string{"s_sum", "s_sum_ne", "s_sum_le", "s_where_version"} {
				keys[ValueKey(f.defCondition(id))] = true
			}
			if len(keys) != 4 || keys[0] {
				t.Fatalf("%d keys of 4 conditions with payloads", len(keys))
			}
			for k := range keys {
				if got := f.count("SELECT filled_to FROM segment_event_keys WHERE key = $1", k); got != top {
					t.Errorf("key %d filled to %d, want the log's last seq %d", k, got, top)
				}
			}
			apps := "SELECT count(*) FROM event_log WHERE source_id = 'shop' AND type = 'purchase' AND (payload->>'channel') = 'app'"
			want := f.count(apps)
			if got := f.count("SELECT count(*) FROM segment_event_values WHERE key = $1", key); got != want || want == 0 {
				t.Errorf("%d values kept of s_sum, want the %d app purchases", got, want)
			}
			versioned := ValueKey(f.defCondition("s_where_version"))
			if got, want := f.count("SELECT count(*) FROM segment_event_values WHERE key = $1", versioned),
				f.count("SELECT count(*) FROM event_log WHERE source_id = 'shop' AND type = 'purchase' AND version = '1' AND (payload->>'channel') = 'web'"); got != want {
				t.Errorf("%d values kept of s_where_version, want %d", got, want)
			}

			// The next run adds the later events' values, once each.
			f.change(2)
			f.pipeline()
			f.run("run-2", RunOptions{})
			f.check("after run 2")
			if got := f.count("SELECT count(*) FROM segment_event_values WHERE key = $1", key); got != f.count(apps) {
				t.Errorf("%d values kept of s_sum after run 2, want %d", got, f.count(apps))
			}
			if n := f.count("SELECT count(*) FROM (SELECT key, seq FROM segment_event_values GROUP BY key, seq HAVING count(*) > 1) d"); n != 0 {
				t.Errorf("%d events with their values kept twice", n)
			}

			// A fill from a filled_to that another fill moved adds nothing.
			before := f.count("SELECT count(*) FROM segment_event_values")
			if err := f.seg.FillKey(ctx, sum, 0, f.count("SELECT max(seq) FROM event_log"), f.now); !errors.Is(err, ErrRaced) {
				t.Errorf("a raced fill: %v, want errRaced", err)
			}
			if after := f.count("SELECT count(*) FROM segment_event_values"); after != before {
				t.Errorf("a raced fill left %d values, %d before", after, before)
			}

			// The query reads the kept values: each app purchase worth
			// 1000 more, every entity with one in the window is a member.
			if _, err := f.db.ExecContext(ctx, "UPDATE segment_event_values SET v = v + 1000 WHERE key = $1", key); err != nil {
				t.Fatal(err)
			}
			p, err := f.seg.Preview(ctx, sum)
			if err != nil {
				t.Fatal(err)
			}
			withApp := f.count(`SELECT count(DISTINCT ee.entity_id) FROM entity_events ee JOIN event_log ev ON ev.seq = ee.event_seq
				WHERE ev.source_id = 'shop' AND ev.type = 'purchase' AND (ev.payload->>'channel') = 'app' AND ev.event_time >= $1`, f.now.Add(-90*24*time.Hour))
			if p.Count != withApp {
				t.Errorf("preview over tampered values counts %d, want the %d entities with an app purchase in the window", p.Count, withApp)
			}
		})
	}
}

// TestPreviewKeysEvicted: the values of conditions no segment holds (a
// builder's) are kept for the PreviewKeysKept most recently used; the
// config's stay whatever their age.
func TestPreviewKeysEvicted(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, testYAML)
			f.people(10)
			f.run("run-1", RunOptions{})
			config := int64(len(f.seg.ConfigKeys()))
			cond := func(i int) *Condition {
				return &Condition{Event: "shop/purchase", Last: "365d", Where: fmt.Sprintf("(payload->>'n')::int >= %d", i%3),
					Sum: &Comparison{Field: fmt.Sprintf("(payload->>'n')::int + %d", i), Op: OpGe, Value: 1}}
			}
			counts := map[int]int64{}
			for i := range PreviewKeysKept + 4 {
				f.now = f.now.Add(2 * time.Hour)
				p, err := f.seg.Preview(ctx, cond(i))
				if err != nil {
					t.Fatal(err)
				}
				counts[i] = p.Count
			}
			// The last preview evicted before it added its own.
			if got, want := f.count("SELECT count(*) FROM segment_event_keys"), config+PreviewKeysKept+1; got != want {
				t.Errorf("%d keys kept, want the config's %d and %d of previews", got, config, PreviewKeysKept+1)
			}
			if n := f.count("SELECT count(*) FROM segment_event_values WHERE key = $1", ValueKey(cond(0))); n != 0 {
				t.Errorf("the oldest preview's condition still has %d values", n)
			}
			// The oldest condition still kept, counted again: its own
			// preview keeps its values, and counts as before.
			oldest := PreviewKeysKept + 4 - (PreviewKeysKept + 1) // of 20 previews, the last 17 are kept
			if n := f.count("SELECT count(*) FROM segment_event_keys WHERE key = $1", ValueKey(cond(oldest))); n != 1 {
				t.Fatalf("condition %d is not kept", oldest)
			}
			f.now = f.now.Add(2 * time.Hour)
			p, err := f.seg.Preview(ctx, cond(oldest))
			if err != nil {
				t.Fatal(err)
			}
			if p.Count != counts[oldest] || p.Count == 0 {
				t.Errorf("condition %d counted again: %d, first %d", oldest, p.Count, counts[oldest])
			}
			for _, k := range f.seg.ConfigKeys() {
				if n := f.count("SELECT count(*) FROM segment_event_keys WHERE key = $1", k); n != 1 {
					t.Errorf("the config's key %d was evicted", k)
				}
			}
		})
	}
}

// TestFillWaitsForErasure: a fill of per-event values holds the stitching
// lock shared. A run's fill waits while an erasure (or a retention window)
// holds it alone, so it never keeps values of events those are deleting;
// a preview does not wait: it counts without keeping values.
func TestFillWaitsForErasure(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend, testYAML)
			f.people(30)
			unlock, err := f.db.LockStitching(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			previewed := make(chan *Preview, 1)
			go func() {
				p, err := f.seg.Preview(ctx, f.defCondition("s_sum"))
				if err != nil {
					t.Error(err)
				}
				previewed <- p
			}()
			var p *Preview
			select {
			case p = <-previewed:
			case <-time.After(10 * time.Second):
				unlock()
				t.Fatal("the preview waited for the erasure's lock")
			}
			if p == nil || p.Count == 0 {
				unlock()
				t.Fatalf("preview %+v: s_sum should hold for some of 30 people", p)
			}
			done := make(chan error, 1)
			go func() {
				_, err := f.seg.Run(ctx, "run-1", RunOptions{})
				done <- err
			}()
			select {
			case err := <-done:
				unlock()
				t.Fatalf("the run filled while an erasure held the lock (%v)", err)
			case <-time.After(500 * time.Millisecond):
			}
			if n := f.count("SELECT count(*) FROM segment_event_values"); n != 0 {
				t.Errorf("%d values kept while the lock was held", n)
			}
			unlock()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := f.count("SELECT count(*) FROM segment_event_values"); n == 0 {
				t.Error("no values kept after the lock was released")
			}
			if got := f.count("SELECT count(*) FROM segment_members WHERE segment_id = 's_sum'"); got != p.Count {
				t.Errorf("the preview during the erasure counted %d, the run %d", p.Count, got)
			}
		})
	}
}
