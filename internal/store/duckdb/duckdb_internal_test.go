package duckdb

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/storetest"
)

// TestHashCollisionKeepsEvent: an id whose hash is already in the id set
// but which is not in the log (what a 64-bit collision looks like) must
// still be stored.
func TestHashCollisionKeepsEvent(t *testing.T) {
	ctx := context.Background()
	b, s := openInternal(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	appendOne := func(id string) int {
		res, err := s.EventAppendMany(ctx, &store.EventAppendManyParams{Events: []store.EventInsert{storetest.Ev(id, "web", "page_view", at, `{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Inserted
	}
	appendOne("first") // loads the id set
	b.ids.add(b.ids.hash("ghost"))
	if n := appendOne("ghost"); n != 1 {
		t.Fatalf("an event whose id hash collides was dropped")
	}
	if n := appendOne("ghost"); n != 0 {
		t.Fatalf("a real duplicate was stored")
	}
	if n := appendOne("it's"); n != 1 {
		t.Fatal("quote in id")
	}
	b.ids.add(b.ids.hash("o'brien"))
	if n := appendOne("o'brien"); n != 1 {
		t.Fatal("candidate lookup with a quote in the id failed")
	}
	if n := appendOne("o'brien"); n != 0 {
		t.Fatal("duplicate with a quote in the id stored")
	}
}

// openInternal opens a store over a new backend in a temporary folder,
// closed when the test ends.
func openInternal(t *testing.T) (*backend, *store.DB) {
	t.Helper()
	dir := t.TempDir()
	b, err := newBackend(filepath.Join(dir, FileName), (*Settings)(nil).WithDefaults(dir))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return b, s
}
