package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
)

var configHistoryTests = []test{
	{"ConfigVersions", testConfigVersions},
}

// The history of applied configs pages newest first by version, and each
// version reads back as saved.
func testConfigVersions(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	ctx := context.Background()
	if list, err := s.ConfigVersionList(ctx, store.ConfigVersionListParams{Limit: 10}); err != nil || len(list) != 0 {
		t.Fatalf("history of an empty store: %+v, %v", list, err)
	}
	for _, body := range []string{"a: 1\n", "a: 2\n", "a: 3\n"} {
		if _, err := s.ConfigSave(ctx, body, `{}`); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ConfigVersionList(ctx, store.ConfigVersionListParams{Limit: 2})
	if err != nil || len(page) != 2 || page[0].Version != 3 || page[1].Version != 2 || page[0].Body != "" || !page[0].AppliedAt.Equal(fixedNow.Truncate(time.Microsecond)) {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	page, err = s.ConfigVersionList(ctx, store.ConfigVersionListParams{Before: 2, Limit: 2})
	if err != nil || len(page) != 1 || page[0].Version != 1 {
		t.Fatalf("second page: %+v, %v", page, err)
	}
	c, err := s.ConfigVersionGet(ctx, 2)
	if err != nil || c.Version != 2 || c.Body != "a: 2\n" || c.Normalized != `{}` {
		t.Fatalf("version 2: %+v, %v", c, err)
	}
	if _, err := s.ConfigVersionGet(ctx, 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("version 4: %v, want ErrNotFound", err)
	}
}
