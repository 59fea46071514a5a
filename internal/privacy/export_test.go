package privacy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestForgetExports: erasing an entity deletes the exports about it (or
// about an entity merged into it) and blanks their requests' identity
// values; another person's export stays.
func TestForgetExports(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, err := openService(t, backend, nil, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			db := s.opts.DB
			now := time.Now().UTC().Truncate(time.Second)
			people := map[string]struct {
				id, email string
				entities  entityList
			}{
				"ann": {"a7551968-d5d6-44b2-9831-815ac9017798", "ann@example.org", entityList{Live: []string{"e1"}, All: []string{"e0", "e1"}}},
				"bob": {"b7551968-d5d6-44b2-9831-815ac9017798", "bob@example.org", entityList{Live: []string{"e2"}, All: []string{"e2"}}},
			}
			for _, p := range people {
				req := &Request{SubjectRequestID: p.id, SubjectRequestType: TypeAccess, SubmittedTime: now.Format(time.RFC3339),
					SubjectIdentities: []Identity{{Type: "email", Value: p.email, Format: FormatRaw}}}
				if err := insertRecord(ctx, db, req, now, now.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				entities, _ := json.Marshal(p.entities)
				ids, _ := json.Marshal(req.SubjectIdentities)
				if ok, err := exec(ctx, db, db.Query("PrivacyRequestStart"), p.id, string(entities), string(ids), now); !ok || err != nil {
					t.Fatalf("start: %v %v", ok, err)
				}
				for _, f := range []string{DocumentFile, EventsFile} {
					if err := s.exports.WriteAll(ctx, p.id+"/"+f, []byte(p.email), nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			// e0 was merged into ann's entity: erasing it forgets her export.
			if err := s.forgetExports(ctx, []string{"e0"}, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			for name, p := range people {
				r, err := getRecord(ctx, db, p.id)
				if err != nil {
					t.Fatal(err)
				}
				exp := time.Now().Add(time.Hour)
				u, _ := s.exportURL(ctx, p.id, EventsFile, exp)
				parts := strings.Split(u, "/")
				rd, err := s.OpenExport(ctx, p.id, EventsFile, parts[len(parts)-2], parts[len(parts)-1])
				if name == "ann" {
					if err != ErrNoExport || r.Identities[0].Value != "" || r.Identities[0].Type != "email" {
						t.Errorf("ann's export after her erasure: %v, identities %+v", err, r.Identities)
					}
					continue
				}
				if err != nil {
					t.Fatalf("bob's export: %v", err)
				}
				b, _ := io.ReadAll(rd)
				rd.Close()
				if string(b) != p.email || r.Identities[0].Value != p.email {
					t.Errorf("bob's export after ann's erasure: %q, identities %+v", b, r.Identities)
				}
			}
		})
	}
}
