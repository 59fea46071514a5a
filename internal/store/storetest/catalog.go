package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var catalogTests = []test{
	{"Catalog", testCatalog},
}

func testCatalog(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	ctx := context.Background()
	n, err := s.EventTypeRegisterMany(ctx, []store.EventTypeKey{
		{SourceID: "crm", Type: "customer_update", Version: "1-0-0"},
		{SourceID: "crm", Type: "customer_update", Version: "2-0-0"},
	})
	if err != nil || n != 2 {
		t.Fatalf("register: %d, %v", n, err)
	}
	appendEvents(t, s, Ev("a", "crm", "customer_update", t0, `{}`), Ev("b", "web", "page_view", t0, `{}`))
	n, err = s.EventTypeRegisterMany(ctx, []store.EventTypeKey{{SourceID: "web", Type: "page_view", Version: "1-0-0"}})
	if err != nil || n != 0 {
		t.Fatalf("re-register: %d, %v", n, err)
	}
	types, err := s.EventTypeList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, et := range types {
		if et.ID != et.EventTypeKey.ID() {
			t.Errorf("id %q does not match its key %+v", et.ID, et.EventTypeKey)
		}
		got = append(got, et.ID)
	}
	want := []string{"crm/customer_update/1-0-0", "crm/customer_update/2-0-0", "web/page_view/1-0-0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event types %v, want %v", got, want)
	}
	sources, err := s.SourceList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 2 || sources[0].ID != "crm" || sources[1].ID != "web" {
		t.Errorf("sources %+v", sources)
	}
}
