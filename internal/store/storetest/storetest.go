// Package storetest is the conformance suite every store backend runs: the
// same test functions, parameterized by how to open the backend, split into
// one file per area and run by Exercise.
package storetest

import (
	"context"
	"encoding/json"
	"reflect"
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

// Exercise runs the whole suite on a backend, area by area: each area is a
// file of this package (event.go, catalog.go, profile.go, job.go, kv.go,
// plugin.go, attribute.go, schema.go, dialect.go, capability.go,
// executor.go, querynames.go) with its list of tests, as river's
// riverdrivertest.Exercise dispatches to its files. A test of something a
// backend cannot do asks its capabilities and skips with a log line.
func Exercise(t *testing.T, b Backend) {
	areas := []struct {
		name  string
		tests []test
	}{
		{"Events", eventTests},
		{"Catalog", catalogTests},
		{"Profiles", profileTests},
		{"Jobs", jobTests},
		{"KV", kvTests},
		{"Plugins", pluginTests},
		{"Attributes", attributeTests},
		{"Schema", schemaTests},
		{"Dialect", dialectTests},
		{"Capabilities", capabilityTests},
		{"Executor", executorTests},
		{"QueryNames", queryNameTests},
		{"ConfigHistory", configHistoryTests},
		{"StitchConstraints", stitchConstraintTests},
	}
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range a.tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					tt.fn(t, b)
				})
			}
		})
	}
}

// test is one test of an area.
type test struct {
	name string
	fn   func(*testing.T, Backend)
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
