// Package storetest is the conformance suite every store backend runs: the
// same test functions, parameterized by how to open the backend.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// OpenFunc opens the store at location, migrating it.
type OpenFunc func(ctx context.Context, location string, opts *store.Options) (store.Store, error)

// Backend describes a backend under test.
type Backend struct {
	// NewLocation returns a fresh, empty place for a store (a directory for
	// DuckDB, a database URL for PostgreSQL).
	NewLocation func(t *testing.T) string
	Open        OpenFunc
}

// Run runs the whole suite.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"AppendAndList", testAppendAndList},
		{"Duplicates", testDuplicates},
		{"SeqMonotonic", testSeqMonotonic},
		{"ListFilters", testListFilters},
		{"Catalog", testCatalog},
		{"AppendIsAtomic", testAppendIsAtomic},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ReopenKeepsData", testReopenKeepsData},
		{"SQLDialect", testSQLDialect},
		{"RefusesNewerSchema", testRefusesNewerSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)

func open(t *testing.T, b Backend, loc string) store.Store {
	t.Helper()
	s, err := b.Open(context.Background(), loc, &store.Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Ev builds a test event.
func Ev(id, source, typ string, at time.Time, payload string) store.EventInsert {
	return store.EventInsert{
		ID:           id,
		EventTypeKey: store.EventTypeKey{SourceID: source, Type: typ, Version: "1-0-0"},
		EventTime:    at.UTC().Truncate(time.Microsecond),
		Payload:      json.RawMessage(payload),
	}
}

func appendEvents(t *testing.T, s store.Store, events ...store.EventInsert) int {
	t.Helper()
	res, err := s.EventAppendMany(context.Background(), &store.EventAppendManyParams{Events: events})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return res.Inserted
}

func list(t *testing.T, s store.Store, p store.EventListParams) []store.Event {
	t.Helper()
	if p.Limit == 0 {
		p.Limit = store.EventListLimitMax
	}
	evs, err := s.EventList(context.Background(), &p)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return evs
}

func sameJSON(t *testing.T, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("stored payload %s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("payload = %s, want %s", got, want)
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

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

// testSQLDialect checks the JSON operators later stages' user SQL relies on
// behave alike on every backend.
func testSQLDialect(t *testing.T, b Backend) {
	s := open(t, b, b.NewLocation(t))
	appendEvents(t, s, Ev("a", "crm", "customer_update", t0, `{"email":"  Ana@X.io ","ids":["u1","u2"]}`))
	sqlDB := s.(*store.DB).SQL()
	var email, first string
	err := sqlDB.QueryRowContext(context.Background(),
		`SELECT lower(trim(payload->>'email')), payload->'ids'->>0 FROM customer_events WHERE id = 'a'`).Scan(&email, &first)
	if err != nil {
		t.Fatal(err)
	}
	if email != "ana@x.io" || first != "u1" {
		t.Errorf("got %q, %q", email, first)
	}
	// customer_events is the log with each event's entity, NULL until
	// stitched, as Meiro's view is.
	var unstitched int
	err = sqlDB.QueryRowContext(context.Background(),
		`SELECT count(*) FROM customer_events WHERE customer_entity_id IS NULL AND seq > 0`).Scan(&unstitched)
	if err != nil || unstitched != 1 {
		t.Errorf("customer_events view: %d unstitched events, %v", unstitched, err)
	}
	appendEvents(t, s,
		Ev("b", "web", "form_submit", t0, `{"user_id":"cookie-B","inbound_user_ids":["cookie-A"],"products":[{"category":"shoes"},{"category":"hats"}]}`),
		Ev("c", "web", "form_submit", t0, `{"user_id":"cookie-C"}`),
	)
	// The seed's cross-domain stitching expression and the spec's
	// set-returning attribute value, unchanged.
	setReturning := []struct {
		name, query string
		want        []string
	}{
		{"json_array_elements_text(json_build_array(...))",
			`SELECT id || ':' || coalesce(v, 'NULL') FROM (SELECT id, json_array_elements_text(json_build_array(payload->>'user_id', payload->'inbound_user_ids'->>0)) AS v
			 FROM customer_events WHERE id IN ('b', 'c')) s ORDER BY 1`,
			[]string{"b:cookie-A", "b:cookie-B", "c:NULL", "c:cookie-C"}},
		{"jsonb_array_elements",
			`SELECT value->>'category' FROM (SELECT jsonb_array_elements(payload->'products') AS value FROM customer_events WHERE id = 'b') s ORDER BY 1`,
			[]string{"hats", "shoes"}},
		{"jsonb_build_array of three",
			`SELECT v FROM (SELECT jsonb_array_elements_text(jsonb_build_array('x', 'y', payload->>'user_id')) AS v FROM customer_events WHERE id = 'c') s ORDER BY 1`,
			[]string{"cookie-C", "x", "y"}},
	}
	for _, c := range setReturning {
		rows, err := sqlDB.QueryContext(context.Background(), c.query)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		rows.Close()
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
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
	_, err = s.(*store.DB).SQL().ExecContext(context.Background(),
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
