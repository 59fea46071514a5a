package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var profileTests = []test{
	{"LookupsBeforeStitching", testProfileLookupsBeforeStitching},
	{"LinkStatesByKeyHash", testProfileLinkStatesByKeyHash},
	{"IdentifierLinksOfEntityGet", testProfileIdentifierLinks},
	{"RefusedAmongKnownEvents", testProfileRefusedAmong},
}

// testProfileRefusedAmong: given all the seqs of an entity's events,
// ProfileRefusedAmong answers what ProfileRefusedSeqs finds by the
// entity, at every limit.
func testProfileRefusedAmong(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	appendEvents(t, s, Ev("p1", "web", "page_view", t0, `{}`), Ev("p2", "web", "page_view", t0, `{}`), Ev("p3", "web", "page_view", t0, `{}`),
		Ev("p4", "web", "page_view", t0, `{}`), Ev("p5", "web", "page_view", t0, `{}`))
	mapRows(t, s, `(1, 'E1'), (2, 'E1'), (3, 'E1'), (4, 'E1'), (5, 'E2')`)
	exec(t, s,
		`INSERT INTO stitch_audit (category, value, reason, events, first_event_seq, recorded_at) VALUES
		('email', 'a', 'blocked', 1, 4, CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ)),
		('email', 'b', 'blocked', 1, 2, CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ)),
		('cookie', 'c', 'max_per_entity', 2, 2, CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ)),
		('email', 'd', 'blocked', 1, 5, CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ))`)
	keyRows(t, s)
	for _, limit := range []int{1, 2, 10} {
		want, err := s.ProfileRefusedSeqs(ctx, "E1", limit)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ProfileRefusedAmong(ctx, []int64{3, 1, 4, 2}, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
}

// testProfileLinkStatesByKeyHash: the states of identifier values are
// found through key_hash (store.IdentifierKeyHash, as the stitcher writes
// it) and decided by the values: a value sharing another's hash is not
// taken for it, a refused value has its reason, an unknown one neither.
func testProfileLinkStatesByKeyHash(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	h := store.IdentifierKeyHash
	exec(t, s, fmt.Sprintf(`INSERT INTO identifiers (category, value, entity_id, first_seq, key_hash) VALUES
		('email', 'a@x', 'E1', 1, %d), ('cookie', 'c1', 'E1', 2, %d),
		('email', 'collides', 'E2', 3, %d)`, h("email", "a@x"), h("cookie", "c1"), h("email", "b@x")),
		`INSERT INTO stitch_audit (category, value, reason, events, first_event_seq, recorded_at)
		VALUES ('email', 'shared@x', 'blocked', 4, 5, CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ))`)
	keyRows(t, s)
	got, err := s.ProfileLinkStates(ctx, []string{"email", "cookie", "email", "email", "cookie"},
		[]string{"a@x", "c1", "b@x", "shared@x", "a@x"})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b store.LinkState) int {
		return cmp.Or(cmp.Compare(a.Category, b.Category), cmp.Compare(a.Value, b.Value))
	})
	want := []store.LinkState{
		{Category: "cookie", Value: "a@x"},
		{Category: "cookie", Value: "c1", EntityID: "E1"},
		{Category: "email", Value: "a@x", EntityID: "E1"},
		{Category: "email", Value: "b@x"}, // its hash is E2's row's, its value is not
		{Category: "email", Value: "shared@x", Refused: "blocked"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("states\n got %+v\nwant %+v", got, want)
	}
}

// testProfileIdentifierLinks: the links EntityGet reads with the
// identifiers are those ProfileIdentifierLinks reads on its own, in its
// order, cut at the same limit.
func testProfileIdentifierLinks(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	exec(t, s, `INSERT INTO entities (id, created_seq, created_at, modified_at) VALUES
		('E1', 1, CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ), CAST('2026-01-02 00:00:00+00' AS TIMESTAMPTZ))`,
		`INSERT INTO identifiers (category, value, entity_id, first_seq, key_hash) VALUES
		('email', 'b@x', 'E1', 7, 1), ('email', 'a@x', 'E1', 7, 2), ('cookie', 'c2', 'E1', 3, 3),
		('cookie', 'c1', 'E1', 9, 4), ('email', 'other', 'E2', 1, 5)`)
	keyRows(t, s)
	e, err := s.EntityGet(ctx, "E1")
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "E1" || len(e.Identifiers["email"]) != 2 || len(e.Identifiers["cookie"]) != 2 {
		t.Fatalf("entity %+v", e)
	}
	for _, limit := range []int{1, 3, 4, 10} {
		want, err := s.ProfileIdentifierLinks(ctx, "E1", limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.IdentifierLinks(limit); !slices.Equal(got, want) {
			t.Errorf("limit %d\n got %+v\nwant %+v", limit, got, want)
		}
	}
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
