package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var schemaTests = []test{
	{"ReopenKeepsData", testReopenKeepsData},
	{"RefusesNewerSchema", testRefusesNewerSchema},
}

func testReopenKeepsData(t *testing.T, b Backend) {
	loc := b.NewLocation(t)
	s, err := b.Open(context.Background(), loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, Ev("a", "web", "page_view", t0, `{"x":1}`))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, b, loc) // migrations run again and must be no-ops
	got := list(t, s2, store.EventListParams{})
	if len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("after reopen: %+v", got)
	}
	// The log remembers its ids across a restart.
	if n := appendEvents(t, s2, Ev("a", "web", "page_view", t0, `{"x":2}`)); n != 0 {
		t.Fatalf("an id stored before the restart was inserted again")
	}
	// seq continues after a restart rather than starting over.
	appendEvents(t, s2, Ev("b", "web", "page_view", t0, `{}`))
	got = list(t, s2, store.EventListParams{})
	if len(got) != 2 || got[1].Seq <= got[0].Seq {
		t.Fatalf("seq after reopen: %+v", got)
	}
}

// testRefusesNewerSchema: a database migrated by a newer Weft must not be
// opened by this one.
func testRefusesNewerSchema(t *testing.T, b Backend) {
	loc := b.NewLocation(t)
	s, err := b.Open(context.Background(), loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.(*store.DB).ExecContext(context.Background(),
		`INSERT INTO weft_schema_migrations (version, name, applied_at) VALUES (999, 'future', CAST('2030-01-01 00:00:00+00' AS TIMESTAMPTZ))`)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := b.Open(context.Background(), loc, nil)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}
