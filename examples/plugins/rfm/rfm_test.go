// Contract tests of the Python example plugin: `python3 main.py
// manifest.json results.json` as a real process against the contract
// fixture of the spec's HTTP protocol (package plugintest).
package rfm_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/examples/plugins/plugintest"
)

// python returns the argv that runs the plugin. Without python3 the tests
// skip, except under CI=true where they fail.
func python(t *testing.T) []string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is not on PATH; the Python example plugin cannot be tested (CI=true makes this a failure)")
		}
		t.Skip("python3 is not on PATH: skipping the Python example plugin's contract tests (they fail under CI=true)")
	}
	main, err := filepath.Abs("main.py")
	if err != nil {
		t.Fatal(err)
	}
	return []string{py, main}
}

// Three planted groups: "vip" bought recently, often and much; "lapsed"
// bought once long ago for little; "mid" is in between. A tenth of the mid
// users never bought (no last purchase date).
func dataset(n int) (*plugintest.Dataset, map[string]string) {
	r := rand.New(rand.NewPCG(21, 22))
	d := &plugintest.Dataset{Features: []plugintest.Feature{
		{Column: "feature_a1", Name: "Last purchase date", Type: "numerical", NativeType: "date"},
		{Column: "feature_a2", Name: "Orders", Type: "numerical", NativeType: "number"},
		{Column: "feature_a3", Name: "Total spend", Type: "numerical", NativeType: "number"},
		{Column: "feature_a4", Name: "City", Type: "categorical", NativeType: "string"},
	}}
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) // the fixture's data_now
	group := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("c%04d", i)
		var daysAgo, orders int
		var spend float64
		g := []string{"vip", "mid", "mid", "mid", "lapsed"}[i%5]
		switch g {
		case "vip":
			daysAgo, orders, spend = r.IntN(5), 12+r.IntN(10), 1500+1000*r.Float64()
		case "mid":
			daysAgo, orders, spend = 20+r.IntN(60), 3+r.IntN(6), 150+400*r.Float64()
		case "lapsed":
			daysAgo, orders, spend = 200+r.IntN(200), 1, 10+20*r.Float64()
		}
		f := map[string]any{
			"feature_a1": now.Add(-time.Duration(daysAgo) * 24 * time.Hour).Format(time.RFC3339),
			"feature_a2": float64(orders),
			"feature_a3": spend,
			"feature_a4": "Brno",
		}
		if g == "mid" && i%10 == 1 {
			f["feature_a1"], f["feature_a2"], f["feature_a3"] = nil, 0.0, nil
		}
		group[id] = g
		d.Users = append(d.Users, plugintest.User{ID: id, Random: r.Float64(), Features: f})
	}
	return d, group
}

var segments = map[string]bool{"Hibernating": true, "At risk": true, "Can't lose them": true, "About to sleep": true,
	"Need attention": true, "Loyal customers": true, "Promising": true, "New customers": true,
	"Potential loyalists": true, "Champions": true}

func TestRFMInitialThenBatches(t *testing.T) {
	py := python(t)
	srv := plugintest.NewServer(t)
	ds, group := dataset(2000)
	srv.SetDataset("initial", ds)

	run := srv.RunStage(t, py, nil, srv.InitialManifest(nil), "initial")
	if run.ExitCode != 0 || run.StatusCode() != "success" {
		t.Fatalf("initial: exit %d, results %s\nstderr: %s", run.ExitCode, run.RawJSON, run.Stderr)
	}
	data := run.Results["data"].(map[string]any)
	if s, _ := data["summary"].(string); !strings.Contains(s, "Champions") {
		t.Errorf("summary %q", data["summary"])
	}
	feats := data["features"].(map[string]any)
	if feats["recency"] != "Last purchase date" || feats["frequency"] != "Orders" || feats["monetary"] != "Total spend" {
		t.Errorf("auto-detected features %v", feats)
	}
	if _, ok := srv.File("initial", "rfm-model.json"); !ok {
		t.Fatal("rfm-model.json not uploaded")
	}
	batches := run.Results["batches"].(map[string]any)
	if batches["maxBatchSize"] != 10000.0 {
		t.Errorf("maxBatchSize %v", batches["maxBatchSize"])
	}
	options := batches["options"].(map[string]any)

	props := map[string][]any{}
	for i, rg := range [][2]float64{{0, 0.3}, {0.3, 1}} {
		label := fmt.Sprintf("batch-%d", i)
		run := srv.RunStage(t, py, nil, srv.BatchManifest("initial", rg[0], rg[1], label, options, nil), label)
		if run.ExitCode != 0 || run.StatusCode() != "success" {
			t.Fatalf("batch %d: exit %d, results %s\nstderr: %s", i, run.ExitCode, run.RawJSON, run.Stderr)
		}
		if len(run.Results) != 1 {
			t.Errorf("batch results.json should hold only status: %s", run.RawJSON)
		}
		up, ok := srv.File(label, "data.json")
		if !ok {
			t.Fatalf("batch %d did not upload data.json", i)
		}
		d, byUser := plugintest.CheckDataJSON(t, up)
		if d.Category != "RFM" || strings.Join(d.Properties, ",") != "rfm_segment,rfm_code,recency_score,frequency_score,monetary_score" {
			t.Fatalf("category %q, properties %v", d.Category, d.Properties)
		}
		for id, v := range byUser {
			if _, dup := props[id]; dup {
				t.Fatalf("user %s in two batches", id)
			}
			props[id] = v
		}
	}
	if len(props) != len(ds.Users) {
		t.Fatalf("%d users updated, dataset has %d", len(props), len(ds.Users))
	}
	champions, hibernating := map[string]int{}, map[string]int{}
	for id, v := range props {
		seg, _ := v[0].(string)
		code, _ := v[1].(string)
		if !segments[seg] {
			t.Fatalf("user %s: segment %q", id, v[0])
		}
		for j, s := range v[2:] {
			f, ok := s.(float64)
			if !ok || f < 1 || f > 5 || f != float64(int(f)) {
				t.Fatalf("user %s: score %d is %v", id, j, s)
			}
		}
		if want := fmt.Sprintf("%v%v%v", v[2], v[3], v[4]); code != want {
			t.Fatalf("user %s: rfm_code %q, scores %s", id, code, want)
		}
		if seg == "Champions" {
			champions[group[id]]++
		}
		if seg == "Hibernating" {
			hibernating[group[id]]++
		}
	}
	// The planted groups land where they belong.
	if champions["vip"] < 350 || champions["lapsed"] > 0 {
		t.Errorf("Champions by group %v (400 vip users)", champions)
	}
	if hibernating["lapsed"] < 350 || hibernating["vip"] > 0 {
		t.Errorf("Hibernating by group %v (400 lapsed users)", hibernating)
	}
}

func TestRFMFeaturesByParam(t *testing.T) {
	py := python(t)
	srv := plugintest.NewServer(t)
	ds, _ := dataset(200)
	srv.SetDataset("initial", ds)
	run := srv.RunStage(t, py, nil, srv.InitialManifest(map[string]any{
		"recency_feature": "feature_a1", "frequency_feature": "total spend", "monetary_feature": "Orders"}), "initial")
	if run.ExitCode != 0 {
		t.Fatalf("%s\n%s", run.RawJSON, run.Stderr)
	}
	feats := run.Results["data"].(map[string]any)["features"].(map[string]any)
	if feats["frequency"] != "Total spend" || feats["monetary"] != "Orders" {
		t.Fatalf("features %v", feats)
	}
}

func TestRFMFailures(t *testing.T) {
	py := python(t)
	srv := plugintest.NewServer(t)
	ds, _ := dataset(200)
	srv.SetDataset("initial", ds)
	t.Run("dataset 500", func(t *testing.T) {
		srv.FailDatasets(500)
		defer srv.FailDatasets(0)
		plugintest.AssertFailed(t, srv.RunStage(t, py, nil, srv.InitialManifest(nil), "initial"), "500")
	})
	t.Run("unknown feature", func(t *testing.T) {
		plugintest.AssertFailed(t, srv.RunStage(t, py, nil, srv.InitialManifest(map[string]any{"recency_feature": "nope"}), "initial"), "nope")
	})
	t.Run("upload refused", func(t *testing.T) {
		plugintest.AssertFailed(t, srv.RunStage(t, py, nil, srv.InitialManifest(nil), "other"), "403")
	})
	t.Run("batch without a model", func(t *testing.T) {
		plugintest.AssertFailed(t, srv.RunStage(t, py, nil, srv.BatchManifest("initial", 0, 1, "b", nil, nil), "b"), "404")
	})
	t.Run("batch dataset 500", func(t *testing.T) {
		srv.PutFile("initial", "rfm-model.json", []byte(`{"version":1,"columns":{"recency":"feature_a1","frequency":"feature_a2"},"cuts":{"recency":[1,2,3,4],"frequency":[1,2,3,4],"monetary":[]}}`))
		srv.FailDatasets(500)
		defer srv.FailDatasets(0)
		plugintest.AssertFailed(t, srv.RunStage(t, py, nil, srv.BatchManifest("initial", 0, 1, "b5", nil, nil), "b5"), "500")
		if _, ok := srv.File("b5", "data.json"); ok {
			t.Error("a failed batch uploaded data.json")
		}
	})
	t.Run("crash has a backtrace", func(t *testing.T) {
		srv.PutFile("initial", "rfm-model.json", []byte(`{"version":1,"columns":{"recency":"feature_a1"},"cuts":{"recency":"not a list"}}`))
		run := srv.RunStage(t, py, nil, srv.BatchManifest("initial", 0, 1, "b6", nil, nil), "b6")
		plugintest.AssertFailed(t, run, "")
		if bt, _ := run.Results["status"].(map[string]any)["backtrace"].(string); !strings.Contains(bt, "Traceback") {
			t.Errorf("backtrace %q", bt)
		}
	})
}

// TestRFMOneElementArrays: a feature holding one value per user may come
// as a one-element array ([4]); the plugin reads it as the value, so every
// user gets the segment the scalars give them.
func TestRFMOneElementArrays(t *testing.T) {
	py := python(t)
	segmentsOf := func(wrap bool) map[string]any {
		srv := plugintest.NewServer(t)
		ds, _ := dataset(500)
		if wrap {
			for _, u := range ds.Users {
				for k, v := range u.Features {
					if v != nil {
						u.Features[k] = []any{v}
					}
				}
			}
		}
		srv.SetDataset("initial", ds)
		run := srv.RunStage(t, py, nil, srv.InitialManifest(nil), "initial")
		if run.ExitCode != 0 || run.StatusCode() != "success" {
			t.Fatalf("initial (wrapped %v): exit %d, results %s\nstderr: %s", wrap, run.ExitCode, run.RawJSON, run.Stderr)
		}
		options := run.Results["batches"].(map[string]any)["options"].(map[string]any)
		run = srv.RunStage(t, py, nil, srv.BatchManifest("initial", 0, 1, "batch-0", options, nil), "batch-0")
		if run.ExitCode != 0 || run.StatusCode() != "success" {
			t.Fatalf("batch (wrapped %v): exit %d, results %s\nstderr: %s", wrap, run.ExitCode, run.RawJSON, run.Stderr)
		}
		up, ok := srv.File("batch-0", "data.json")
		if !ok {
			t.Fatal("no data.json")
		}
		_, byUser := plugintest.CheckDataJSON(t, up)
		out := map[string]any{}
		for id, v := range byUser {
			out[id] = v[0]
		}
		return out
	}
	scalars, arrays := segmentsOf(false), segmentsOf(true)
	if len(scalars) != 500 || len(arrays) != 500 {
		t.Fatalf("%d and %d users", len(scalars), len(arrays))
	}
	for id, seg := range scalars {
		if arrays[id] != seg {
			t.Errorf("user %s: %v from one-element arrays, %v from scalars", id, arrays[id], seg)
		}
	}
}
