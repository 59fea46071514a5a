package job_test

import (
	"encoding/json"
	"testing"

	"github.com/weftdata/weft/job"
)

func TestSetJSON(t *testing.T) {
	data, err := json.Marshal(job.Record{"n": job.NewSet(2.0, -1.0, 2.0), "s": job.NewSet("b", "a"), "e": job.StringSet{}})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "JSON", string(data), `{"e":{"$stringSet":[]},"n":{"$numberSet":[-1,2]},"s":{"$stringSet":["a","b"]}}`)
	var rec job.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]any{"n": job.NewSet(-1.0, 2.0), "s": job.NewSet("a", "b"), "e": job.StringSet{}} {
		got, ok := job.DecodeSet(rec[f])
		if !ok {
			t.Fatalf("field %s: %v is not decoded as a set", f, rec[f])
		}
		equal(t, f, got, want)
	}
	// Objects that are not a set's stored form stay what they are.
	for _, v := range []any{
		map[string]any{"$numberSet": []any{"x"}},
		map[string]any{"$stringSet": []any{1.0}},
		map[string]any{"$numberSet": []any{1.0}, "other": 1.0},
		map[string]any{"$numberSet": 1.0},
		[]any{1.0},
		"x",
	} {
		if got, ok := job.DecodeSet(v); ok {
			t.Fatalf("%v decoded as the set %v", v, got)
		}
	}
	equal(t, "values", job.NewSet(3.0, 1.0).Values(), []float64{1, 3})
	equal(t, "has", job.NewSet("a").Has("a") && !job.NewSet("a").Has("b"), true)
	equal(t, "kinds", job.NumberSet{}.Kind()+","+job.StringSet{}.Kind(), "number set,string set")
}
