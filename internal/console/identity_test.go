package console_test

import (
	"context"
	"net/http"
	"strings"
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

// TestProfileOfSplitID: an id that split and is none of its parts (the
// engine retires it, merged_into pointing at the part that holds its first
// event) shows the split and links to the live profiles its parts are now,
// as the API's profile read answers with them, instead of redirecting to
// one part as if it had merged. The test writes the state the engine
// records for such a split.
func TestProfileOfSplitID(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := profilesServer(t, backend)
			b := newBrowser(t, s.URL())
			b.signIn(adminKey)
			ann := profEntity(t, s, "email:ann@example.org")
			bob := profEntity(t, s, "email:bob@example.org")
			cat := profEntity(t, s, "cookie:c9")
			ctx := context.Background()
			if _, err := s.Store.ExecContext(ctx, `UPDATE entities SET merged_into = $2 WHERE id = $1`, cat, ann); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Store.ExecContext(ctx, `INSERT INTO stitch_splits (entity_id, parts, category, value, event_seq, constraint_id, split_at)
				VALUES ($1, $2, 'email', 'ann@example.org', 2, NULL, $3)`, cat, `["`+ann+`","`+bob+`"]`, profAt(500)); err != nil {
				t.Fatal(err)
			}
			status, _, page := b.get("/console/profiles/" + cat)
			if status != http.StatusOK {
				t.Fatalf("split id: %d\n%s", status, page)
			}
			mustContain(t, page, "Profile <code>"+cat+"</code> split", "email: ann@example.org",
				`href="/console/profiles/`+ann+`"`, `href="/console/profiles/`+bob+`"`)
			if strings.Contains(page, "was merged into this one") {
				t.Error("a split id is shown as merged")
			}
			// The API answers the same id with the same parts.
			got := api(t, s, "GET", "/v1/entities/"+cat, "", "")
			for _, p := range []string{ann, bob} {
				if !strings.Contains(got, p) {
					t.Errorf("GET /v1/entities/%s does not name part %s: %s", cat, p, got)
				}
			}
			// An id merged away, not split, still leads to its survivor.
			if status, loc, _ := b.get("/console/profiles/" + ann); status != http.StatusOK {
				t.Errorf("live id: %d %q", status, loc)
			}
		})
	}
}
