package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
)

var eventTests = []test{
	{"AppendAndList", testAppendAndList},
	{"Duplicates", testDuplicates},
	{"SeqMonotonic", testSeqMonotonic},
	{"ListFilters", testListFilters},
	{"AppendIsAtomic", testAppendIsAtomic},
	{"ConcurrentAppends", testConcurrentAppends},
}

func testAppendAndList(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	in := []store.EventInsert{
		Ev("a", "web", "page_view", t0, `{"url":"/x","cookie_id":"c1","n":1.5,"nested":{"k":[1,2,"三"]}}`),
		Ev("b", "crm", "customer_update", t0.Add(-time.Hour), `{"email":"A@x.io"}`),
		Ev("c", "web", "page_view", t0.Add(time.Microsecond), `{}`),
	}
	if n := appendEvents(t, s, in...); n != 3 {
		t.Fatalf("inserted %d, want 3", n)
	}
	got := list(t, s, store.EventListParams{})
	if len(got) != 3 {
		t.Fatalf("listed %d events, want 3", len(got))
	}
	for i, e := range got {
		w := in[i]
		if e.ID != w.ID || e.SourceID != w.SourceID || e.Type != w.Type || e.Version != w.Version {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
		if !e.EventTime.Equal(w.EventTime) || e.EventTime.Location() != time.UTC {
			t.Errorf("event %d time = %v, want %v in UTC", i, e.EventTime, w.EventTime)
		}
		if want := fixedNow.Truncate(time.Microsecond); !e.CreatedAt.Equal(want) {
			t.Errorf("event %d created_at = %v, want %v", i, e.CreatedAt, want)
		}
		sameJSON(t, e.Payload, w.Payload)
		if i > 0 && e.Seq <= got[i-1].Seq {
			t.Errorf("seq not increasing: %d after %d", e.Seq, got[i-1].Seq)
		}
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := store.Stats{Events: 3, EventTypes: 2, Sources: 2, MaxSeq: got[2].Seq,
		Identifiers: map[string]int64{}, Audit: map[string]store.AuditCount{}}
	if !reflect.DeepEqual(*st, want) {
		t.Errorf("stats = %+v, want %+v", *st, want)
	}
}

func testDuplicates(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	a := Ev("a", "web", "page_view", t0, `{"v":1}`)
	if n := appendEvents(t, s, a); n != 1 {
		t.Fatalf("first append inserted %d", n)
	}
	// The same id again, even with another payload, is a duplicate: the
	// log is immutable and the first write wins.
	changed := a
	changed.Payload = json.RawMessage(`{"v":2}`)
	if n := appendEvents(t, s, changed, Ev("b", "web", "page_view", t0, `{}`)); n != 1 {
		t.Fatalf("second append inserted %d, want 1", n)
	}
	got := list(t, s, store.EventListParams{})
	if len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
	sameJSON(t, got[0].Payload, a.Payload)
	// Repeats inside one call are stored once too.
	c := Ev("c", "web", "page_view", t0, `{}`)
	if n := appendEvents(t, s, c, c, Ev("d", "web", "page_view", t0, `{}`), c); n != 2 {
		t.Fatalf("a call with repeated ids inserted %d, want 2", n)
	}
	if got := list(t, s, store.EventListParams{}); len(got) != 4 {
		t.Fatalf("%d events, want 4", len(got))
	}
}

func testSeqMonotonic(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	var last int64
	for batch := 0; batch < 5; batch++ {
		var evs []store.EventInsert
		for i := 0; i < 100; i++ {
			evs = append(evs, Ev(fmt.Sprintf("%d-%d", batch, i), "web", "page_view", t0, `{}`))
		}
		appendEvents(t, s, evs...)
		got := list(t, s, store.EventListParams{AfterSeq: last})
		if len(got) != 100 {
			t.Fatalf("batch %d: %d events after seq %d, want 100", batch, len(got), last)
		}
		for i, e := range got {
			if e.ID != evs[i].ID {
				t.Fatalf("batch %d: event %d is %s, want %s (seq must follow input order)", batch, i, e.ID, evs[i].ID)
			}
		}
		last = got[len(got)-1].Seq
	}
}

func testListFilters(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	appendEvents(t, s,
		Ev("1", "web", "page_view", t0, `{}`),
		Ev("2", "web", "form_submit", t0, `{}`),
		Ev("3", "shop", "purchase", t0, `{}`),
		Ev("4", "web", "page_view", t0, `{}`),
	)
	ids := func(evs []store.Event) (out []string) {
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	cases := []struct {
		name string
		p    store.EventListParams
		want []string
	}{
		{"all", store.EventListParams{}, []string{"1", "2", "3", "4"}},
		{"source", store.EventListParams{SourceID: "web"}, []string{"1", "2", "4"}},
		{"type", store.EventListParams{Type: "page_view"}, []string{"1", "4"}},
		{"source and type", store.EventListParams{SourceID: "shop", Type: "page_view"}, nil},
		{"limit", store.EventListParams{Limit: 2}, []string{"1", "2"}},
		{"desc", store.EventListParams{Desc: true, Limit: 3}, []string{"4", "3", "2"}},
		{"desc source", store.EventListParams{Desc: true, SourceID: "web"}, []string{"4", "2", "1"}},
	}
	for _, c := range cases {
		if got := ids(list(t, s, c.p)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	all := list(t, s, store.EventListParams{})
	if got := ids(list(t, s, store.EventListParams{AfterSeq: all[1].Seq})); !reflect.DeepEqual(got, []string{"3", "4"}) {
		t.Errorf("after seq: got %v", got)
	}
	if got := ids(list(t, s, store.EventListParams{AfterSeq: all[2].Seq, Desc: true})); !reflect.DeepEqual(got, []string{"2", "1"}) {
		t.Errorf("before seq, desc: got %v", got)
	}
	if _, err := s.EventList(context.Background(), &store.EventListParams{Limit: store.EventListLimitMax + 1}); err == nil {
		t.Error("a limit above the maximum must be refused")
	}
}

// testAppendIsAtomic sends a batch the database itself refuses (a payload
// that is not JSON; package event never lets one through): nothing of the
// batch, neither its events nor its catalog entries, may remain.
func testAppendIsAtomic(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	appendEvents(t, s, Ev("keep", "web", "page_view", t0, `{}`))
	_, err := s.EventAppendMany(context.Background(), &store.EventAppendManyParams{Events: []store.EventInsert{
		Ev("good", "new_source", "x", t0, `{}`),
		Ev("bad", "new_source", "x", t0, `{not json`),
	}})
	if err == nil {
		t.Fatal("a batch with a payload that is not JSON was accepted")
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 1 || st.EventTypes != 1 || st.Sources != 1 {
		t.Errorf("after a failed append: %+v, want only the first event and its catalog", *st)
	}
	// The store still works after the failure.
	if n := appendEvents(t, s, Ev("good", "new_source", "x", t0, `{}`)); n != 1 {
		t.Errorf("append after failure inserted %d", n)
	}
}

func testConcurrentAppends(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	const writers, batches, size = 4, 5, 200
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bt := 0; bt < batches; bt++ {
				var evs []store.EventInsert
				for i := 0; i < size; i++ {
					// Writers overlap on half their ids: those are duplicates.
					evs = append(evs, Ev(fmt.Sprintf("%d-%d-%d", w%2, bt, i), "web", "page_view", t0, `{}`))
				}
				if _, err := s.EventAppendMany(context.Background(), &store.EventAppendManyParams{Events: evs}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := list(t, s, store.EventListParams{})
	if len(got) != 2*batches*size {
		t.Fatalf("%d events, want %d", len(got), 2*batches*size)
	}
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %s stored twice", e.ID)
		}
		seen[e.ID] = true
	}
}
