package console_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestProfileGraphRecordedRefusal: a refused link the engine recorded
// (stitch_refused) is drawn with its reason, over the guard-rail audit's:
// the test rewrites the recorded reason to tell them apart.
func TestProfileGraphRecordedRefusal(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := profilesServer(t, backend)
			b := newBrowser(t, s.URL())
			b.signIn(adminKey)
			other := profEntity(t, s, "email:ann2@example.org")
			res, err := s.Store.ExecContext(context.Background(), `UPDATE stitch_refused SET reason = 'manual_split'
				WHERE entity_id = $1 AND category = 'cookie' AND value = 'c4' AND reason = 'ambiguous'`, other)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("the engine recorded %d refused links of cookie:c4 for %s, want 1", n, other)
			}
			status, _, page := b.get("/console/profiles/" + other)
			if status != http.StatusOK {
				t.Fatalf("profile: %d", status)
			}
			graphCounts(t, page, 1, 1, 1, 1, 1)
			mustContain(t, page, "cookie:c4 (refused: manual_split)", "carries cookie:c4 (refused: manual_split)")
		})
	}
}
