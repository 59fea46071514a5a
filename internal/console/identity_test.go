package console_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestProfileGraphRecordedRefusal: a refused link the engine recorded
// (stitch_refused) is drawn with its reason, over the guard-rail audit's.
// The engine of this step does not write stitch_refused yet: the test
// writes the row.
func TestProfileGraphRecordedRefusal(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := profilesServer(t, backend)
			b := newBrowser(t, s.URL())
			b.signIn(adminKey)
			ann, other := profEntity(t, s, "email:ann@example.org"), profEntity(t, s, "email:ann2@example.org")
			_, err := s.Store.ExecContext(context.Background(), `INSERT INTO stitch_refused (entity_id, event_seq, category, value, reason, key_hash)
				SELECT entity_id, event_seq, 'cookie', 'c1', 'manual_split', 0 FROM entity_events WHERE entity_id = $1`, other)
			if err != nil {
				t.Fatal(err)
			}
			status, _, page := b.get("/console/profiles/" + other)
			if status != http.StatusOK {
				t.Fatalf("profile: %d", status)
			}
			graphCounts(t, page, 1, 1, 1, 1, 1)
			mustContain(t, page, "cookie:c1 (refused: manual_split; held by entity "+ann+")", "carries cookie:c1 (refused: manual_split)")
		})
	}
}
