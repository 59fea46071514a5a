package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var profileTests = []test{
	{"LookupsBeforeStitching", testProfileLookupsBeforeStitching},
}

// testProfileLookupsBeforeStitching: before the first stitching pass
// there are no entities, and lookups say so with ErrNotFound.
func testProfileLookupsBeforeStitching(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	appendEvents(t, s, Ev("a", "web", "page_view", t0, `{}`))
	if _, err := s.EntityGet(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EntityGet: %v, want ErrNotFound", err)
	}
	if _, err := s.EntityFind(ctx, "email", "a@b.c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EntityFind: %v, want ErrNotFound", err)
	}
	if es, err := s.EntityList(ctx, &store.EntityListParams{Limit: 10}); err != nil || len(es) != 0 {
		t.Errorf("EntityList: %v, %v", es, err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 1 || st.Entities != 0 || st.StitchedSeq != 0 || st.LargestEntity != nil {
		t.Errorf("stats %+v", st)
	}
}
