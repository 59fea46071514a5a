package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
)

var stitchConstraintTests = []test{
	{"AddListGetDelete", testStitchConstraintAddListGetDelete},
	{"Lookups", testStitchConstraintLookups},
}

// testStitchConstraintAddListGetDelete: constraints are stored with who
// added them and when, listed newest first, read and removed by id.
func testStitchConstraintAddListGetDelete(t *testing.T, b Backend) {
	ctx := context.Background()
	var mu sync.Mutex
	now := fixedNow
	tick := func() time.Time { // a second later at each reading
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	st, err := b.Open(ctx, b.NewLocation(t), &store.Options{Now: tick})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := st.(*store.DB)
	if list, err := s.StitchConstraintList(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty list: %v %v", list, err)
	}
	specs := []store.StitchConstraintAddParams{
		{Kind: store.ConstraintBlock, Spec: store.Identifier{Category: "email", Value: "x@example.org"}, CreatedBy: "ops"},
		{Kind: store.ConstraintMerge, Spec: store.MergeSpec{Entities: []string{"a", "b"}, Events: []string{"e1", "e2"}}, CreatedBy: "bootstrap"},
		{Kind: store.ConstraintSplit, Spec: store.SplitSpec{Entity: "a", Identifiers: []store.Identifier{{Category: "cookie", Value: "c1"}},
			ApartFrom: []store.Identifier{{Category: "cookie", Value: "c2"}}}, CreatedBy: "ops"},
	}
	var added []*store.StitchConstraint
	for i := range specs {
		c, err := s.StitchConstraintAdd(ctx, &specs[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(c.ID) != 16 || c.CreatedAt.IsZero() || c.CreatedBy != specs[i].CreatedBy {
			t.Errorf("added %+v", c)
		}
		added = append(added, c)
	}
	if _, err := s.StitchConstraintAdd(ctx, &store.StitchConstraintAddParams{Kind: "glue", Spec: 1}); err == nil {
		t.Error("a constraint of an unknown kind was added")
	}
	list, err := s.StitchConstraintList(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("list: %v %v", list, err)
	}
	for i, c := range list {
		want := added[len(added)-1-i]
		if c.ID != want.ID || c.Kind != want.Kind || !c.CreatedAt.Equal(want.CreatedAt) || c.CreatedBy != want.CreatedBy {
			t.Errorf("list[%d] = %+v, want %+v (newest first)", i, c, want)
		}
	}
	var split store.SplitSpec
	if err := json.Unmarshal(list[0].Spec, &split); err != nil || split.Entity != "a" || split.ApartFrom[0].Value != "c2" {
		t.Errorf("split spec %s: %v", list[0].Spec, err)
	}
	got, err := s.StitchConstraintGet(ctx, added[1].ID)
	if err != nil || got.Kind != store.ConstraintMerge || string(got.Spec) != `{"entities":["a","b"],"events":["e1","e2"]}` {
		t.Fatalf("get: %+v %v", got, err)
	}
	gone, err := s.StitchConstraintDelete(ctx, added[1].ID)
	if err != nil || gone.ID != added[1].ID || gone.Kind != store.ConstraintMerge {
		t.Fatalf("delete: %+v %v", gone, err)
	}
	if _, err := s.StitchConstraintDelete(ctx, added[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := s.StitchConstraintGet(ctx, added[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get of a deleted one: %v, want ErrNotFound", err)
	}
	if list, _ := s.StitchConstraintList(ctx); len(list) != 2 {
		t.Errorf("after delete: %v", list)
	}
	// Put back as it was (what a failed removal does).
	if err := s.StitchConstraintPut(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if back, err := s.StitchConstraintGet(ctx, gone.ID); err != nil || !reflect.DeepEqual(back, gone) {
		t.Errorf("put back: %+v %v, want %+v", back, err, gone)
	}
}

// testStitchConstraintLookups: what the API reads to build and answer
// constraints, over stitching tables written here by hand.
func testStitchConstraintLookups(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	appendEvents(t, s,
		Ev("e1", "web", "page_view", t0.Add(2*time.Second), `{}`),
		Ev("e2", "web", "page_view", t0, `{}`), // A's first: the earliest time
		Ev("e3", "web", "page_view", t0.Add(time.Second), `{}`),
		Ev("e0", "web", "page_view", t0.Add(time.Second), `{}`)) // B's first: same time as e3, smaller id
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mapRows(t, s, `(1, 'A'), (2, 'A'), (3, 'B'), (4, 'B')`)
	exec(`INSERT INTO identifiers (category, value, entity_id, first_seq, key_hash) VALUES ('email', 'x@y', 'A', 1, 1), ('cookie', 'c1', 'B', 3, 2)`)
	keyRows(t, s)
	exec(`INSERT INTO stitch_refused (entity_id, event_seq, category, value, reason, key_hash) VALUES ('B', 4, 'email', 'x@y', 'manual_split', 1)`)
	exec(`INSERT INTO stitch_splits (entity_id, parts, category, value, event_seq, constraint_id, split_at) VALUES ('A', '["A","B"]', NULL, NULL, NULL, 'k1', CAST($1 AS TIMESTAMPTZ))`, fixedNow)

	first, err := s.EntityFirstEvents(ctx, []string{"A", "B", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first["A"].EventID != "e2" || !first["A"].EventTime.Equal(t0) || first["B"].EventID != "e0" {
		t.Errorf("first events %+v", first)
	}
	in, err := s.EventEntities(ctx, []string{"e1", "e0", "nope"})
	if err != nil || !reflect.DeepEqual(in, map[string]string{"e1": "A", "e0": "B"}) {
		t.Errorf("event entities %v %v", in, err)
	}
	holders, err := s.IdentifierHolders(ctx, []store.Identifier{{Category: "email", Value: "x@y"}, {Category: "cookie", Value: "c1"}, {Category: "cookie", Value: "x@y"}})
	want := []store.IdentifierHolder{
		{Identifier: store.Identifier{Category: "cookie", Value: "c1"}, EntityID: "B"},
		{Identifier: store.Identifier{Category: "email", Value: "x@y"}, EntityID: "A"},
		{Identifier: store.Identifier{Category: "email", Value: "x@y"}, EntityID: "B", Refused: true},
	}
	if err != nil || !reflect.DeepEqual(holders, want) {
		t.Errorf("holders %+v %v, want %+v", holders, err, want)
	}
	splits, err := s.StitchConstraintSplits(ctx, "k1")
	if err != nil || len(splits) != 1 || splits[0].EntityID != "A" || !reflect.DeepEqual(splits[0].Parts, []string{"A", "B"}) || !splits[0].SplitAt.Equal(fixedNow.Truncate(time.Microsecond)) {
		t.Errorf("splits %+v %v", splits, err)
	}
	if none, err := s.StitchConstraintSplits(ctx, "k2"); err != nil || none == nil || len(none) != 0 {
		t.Errorf("splits of another constraint %v %v", none, err)
	}
}
