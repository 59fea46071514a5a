package blobimport_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/job"
)

// offlineStores is the custom object of OCP's quickstart.
var offlineStores = object.Type{Name: "offline_stores", Fields: []object.Field{
	{Name: "id", Type: object.FieldString, Primary: true},
	{Name: "name", Type: object.FieldString},
	{Name: "location", Type: object.FieldString},
	{Name: "rank", Type: object.FieldNumber},
}}

// withObjects gives the harness a real object store holding types.
func (h *harness) withObjects(types ...object.Type) *object.Store {
	h.t.Helper()
	sch, err := object.NewSchema(types)
	if err != nil {
		h.t.Fatal(err)
	}
	s := object.NewStore(h.db, func(context.Context) (*object.Schema, error) { return sch, nil }, nil)
	if err := s.Sync(context.Background(), sch); err != nil {
		h.t.Fatal(err)
	}
	h.env.Objects = s
	return s
}

func listObjects(t *testing.T, s *object.Store, typ string) map[string]string {
	t.Helper()
	page, err := s.List(context.Background(), typ, object.ListParams{First: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range page.Records {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Get("id").(string)] = string(b)
	}
	return out
}

// TestObjectsTarget is the quickstart's fixture (spec section 11): a.json
// (older) with two stores and b.json with one, imported oldest first into
// the custom object, the cursor ending at b.json so that a second run
// imports nothing; then a CSV through a mapping that updates a store and
// rejects a row with an unknown field.
func TestObjectsTarget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "duckdb")
	s := h.withObjects(offlineStores)
	dir := t.TempDir()
	writeFile(t, dir, "a.json", `[{"id":"s1","name":"Prague","location":"CZ"},{"id":"s2","name":"Brno","location":"CZ"}]`, time.Unix(1000, 0))
	writeFile(t, dir, "b.json", `[{"id":"s3","name":"Wien","location":"AT"}]`, time.Unix(2000, 0))
	params := map[string]any{"source": "file://" + dir, "format": "json", "target": "objects:offline_stores"}

	st, steps, err := h.run(params)
	if err != nil {
		t.Fatal(err)
	}
	// list, a, b, notification: no fifth perform and no backwards cursor.
	if len(steps) != 4 || st.FilesDone != 2 || st.Records != 3 {
		t.Fatalf("%d performs, state %+v", len(steps), st)
	}
	if c := h.cursor(params); c.Name != "b.json" || c.ModTime.Unix() != 2000 {
		t.Fatalf("cursor %+v, want b.json at 2000", c)
	}
	got := listObjects(t, s, "offline_stores")
	if len(got) != 3 || got["s3"] != `{"id":"s3","name":"Wien","location":"AT","rank":null}` {
		t.Fatalf("objects %v", got)
	}
	if n := h.lastNote(); n.Level != job.LevelInfo || !strings.Contains(n.Summary, "Imported 3 records from 2 files") {
		t.Fatalf("notification %+v", n)
	}
	if st = h.mustRun(params); st.FilesDone != 0 {
		t.Fatalf("second run imported %+v", st)
	}

	// A CSV export with other column names, through a mapping: a store
	// is updated (fields not mapped keep their values), a row whose rank
	// is not a number and one the object store refuses (no primary key)
	// are rejected with file and line.
	dir2 := t.TempDir()
	writeFile(t, dir2, "c.csv", "Store,City,Rank,Extra\ns2,Brno-střed,2,x\ns4,Linz,oops,y\n", time.Unix(3000, 0))
	writeFile(t, dir2, "d.csv", "Shop,City\ns5,Graz\n", time.Unix(4000, 0))
	st = h.mustRun(map[string]any{"source": "file://" + dir2, "format": "csv", "target": "objects:offline_stores",
		"mapping": map[string]any{"id": "Store", "name": "City", "rank": map[string]any{"field": "Rank", "type": "number"}}})
	if st.FilesDone != 2 || st.Records != 1 || st.Rejected != 2 {
		t.Fatalf("state %+v", st)
	}
	if got := listObjects(t, s, "offline_stores"); got["s2"] != `{"id":"s2","name":"Brno-střed","location":"CZ","rank":2}` || len(got) != 3 {
		t.Fatalf("objects %v", got)
	}
	if r := st.Rejections; len(r) != 2 || r[0].String() != `c.csv:3: field Rank: "oops" is not a number` ||
		r[1].File != "d.csv" || r[1].Line != 2 || r[1].Field != "id" {
		t.Fatalf("rejections %v", r)
	}
}
