package stitch_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/worked"
)

// TestErasureWaitsForPass: an erasure requested while a stitching pass is
// between its reads and its write waits for the pass, then erases what the
// pass wrote too. Without the lock the pass would write the mapping of
// alice's new event and her new cookie to the entity just erased.
func TestErasureWaitsForPass(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openStore(t, backend)
			ingest(t, s, worked.Record("a1", "web/form_submit", "2024-01-01T10:00", `{"user_id":"cookie-a1","email":"alice@x.io"}`),
				worked.Record("b1", "web/form_submit", "2024-01-01T10:01", `{"user_id":"cookie-b1","email":"bob@x.io"}`))
			eng := newEngine(t, s, workedConfig)
			if _, err := eng.Run(ctx, 0); err != nil {
				t.Fatal(err)
			}
			alice := entityOf(t, s, "a1")
			ingest(t, s, worked.Record("a2", "web/form_submit", "2024-01-02T10:00", `{"user_id":"cookie-a2","email":"alice@x.io"}`))

			resolved, release := make(chan struct{}), make(chan struct{})
			stitch.BeforeWrite(eng, func() { close(resolved); <-release })
			passDone := make(chan error, 1)
			go func() { _, err := eng.Run(ctx, 0); passDone <- err }()
			<-resolved
			erased := make(chan error, 1)
			go func() { _, err := erasure.Erase(ctx, s, []string{alice}); erased <- err }()
			select {
			case err := <-erased:
				t.Errorf("the erasure ended while a pass was between its reads and its write (%v)", err)
			case <-time.After(time.Second):
			}
			close(release)
			for what, done := range map[string]chan error{"the pass": passDone, "the erasure": erased} {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
				case <-time.After(2 * time.Minute):
					t.Fatalf("%s never ended", what)
				}
			}
			for what, q := range map[string]string{
				"identifiers of entities that are gone": `SELECT count(*) FROM identifiers WHERE entity_id NOT IN (SELECT id FROM entities)`,
				"mappings to entities that are gone":    `SELECT count(*) FROM entity_events WHERE entity_id NOT IN (SELECT id FROM entities)`,
				"mappings of events that are gone":      `SELECT count(*) FROM entity_events WHERE event_seq NOT IN (SELECT seq FROM event_log)`,
				"alice's identifiers":                   `SELECT count(*) FROM identifiers WHERE value IN ('alice@x.io', 'cookie-a1', 'cookie-a2')`,
				"alice's events":                        `SELECT count(*) FROM event_log WHERE id IN ('a1', 'a2')`,
			} {
				var n int
				if err := s.QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("%d %s after the erasure", n, what)
				}
			}
			if got := entityOf(t, s, "b1"); got == "" {
				t.Error("bob is gone too")
			}
		})
	}
}
