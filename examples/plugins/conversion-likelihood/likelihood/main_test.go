package likelihood

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/examples/plugins/plugintest"
)

// The contract tests run this test binary as the plugin process: with
// WEFT_EXAMPLE_PLUGIN=1 it is the plugin's main, so the tests exercise a
// real subprocess (argv, working directory, files, exit code) without a
// separate go build.
func TestMain(m *testing.M) {
	if os.Getenv("WEFT_EXAMPLE_PLUGIN") == "1" {
		os.Exit(Main(os.Args))
	}
	os.Exit(m.Run())
}

// ---- the math ----

func TestSigmoidInUnitInterval(t *testing.T) {
	for _, z := range []float64{-1e6, -745, -40, -1, 0, 1, 40, 745, 1e6} {
		p := Sigmoid(z)
		if !(p >= 0 && p <= 1) || math.IsNaN(p) {
			t.Fatalf("Sigmoid(%v) = %v", z, p)
		}
	}
	if Sigmoid(0) != 0.5 {
		t.Fatalf("Sigmoid(0) = %v", Sigmoid(0))
	}
}

func TestAUC(t *testing.T) {
	cases := []struct {
		scores, y []float64
		want      float64
	}{
		{[]float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}, 0.75},
		{[]float64{0.1, 0.2, 0.8, 0.9}, []float64{0, 0, 1, 1}, 1},
		{[]float64{0.9, 0.8, 0.2, 0.1}, []float64{0, 0, 1, 1}, 0},
		{[]float64{0.5, 0.5, 0.5, 0.5}, []float64{0, 1, 0, 1}, 0.5}, // ties count half
		{[]float64{0.3, 0.5, 0.5, 0.7}, []float64{0, 0, 1, 1}, 0.875},
	}
	for _, c := range cases {
		got, ok := AUC(c.scores, c.y)
		if !ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("AUC(%v, %v) = %v, %v; want %v", c.scores, c.y, got, ok, c.want)
		}
	}
	if _, ok := AUC([]float64{0.1, 0.2}, []float64{1, 1}); ok {
		t.Error("AUC with one class should not be ok")
	}
}

// AUC agrees with the pairwise definition on random data.
func TestAUCMatchesPairCount(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	scores, y := make([]float64, 300), make([]float64, 300)
	for i := range scores {
		scores[i] = float64(r.IntN(20)) / 20 // many ties
		if r.Float64() < 0.3 {
			y[i] = 1
		}
	}
	var num, den float64
	for i := range scores {
		for j := range scores {
			if y[i] == 1 && y[j] == 0 {
				den++
				switch {
				case scores[i] > scores[j]:
					num++
				case scores[i] == scores[j]:
					num += 0.5
				}
			}
		}
	}
	got, _ := AUC(scores, y)
	if math.Abs(got-num/den) > 1e-12 {
		t.Fatalf("AUC = %v, pair count = %v", got, num/den)
	}
}

func TestTrainLearnsSeparableProblem(t *testing.T) {
	// y = 1 iff x0 + x1 > 0; x2 is noise.
	r := rand.New(rand.NewPCG(3, 4))
	var x [][]float64
	var y []float64
	for range 400 {
		a, b, c := r.NormFloat64(), r.NormFloat64(), r.NormFloat64()
		if math.Abs(a+b) < 0.1 {
			continue // a margin
		}
		x = append(x, []float64{a, b, c})
		if a+b > 0 {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
	}
	w, b, err := Train(x, y, DefaultTrainConfig)
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, len(x))
	for i := range x {
		scores[i] = Predict(w, b, x[i])
		if scores[i] < 0 || scores[i] > 1 {
			t.Fatalf("score %v outside [0,1]", scores[i])
		}
	}
	acc, _ := Accuracy(scores, y)
	auc, _ := AUC(scores, y)
	if acc < 0.99 || auc < 0.999 {
		t.Fatalf("separable problem: accuracy %v, AUC %v (w=%v b=%v)", acc, auc, w, b)
	}
	if w[0] <= 0 || w[1] <= 0 || math.Abs(w[2]) > 0.25*math.Min(w[0], w[1]) {
		t.Fatalf("weights %v: want large positive w0, w1 and a small noise weight", w)
	}
	// Scores stay in [0,1] far outside the training data.
	for _, v := range [][]float64{{1e9, 1e9, 0}, {-1e9, -1e9, 0}} {
		if p := Predict(w, b, v); p < 0 || p > 1 || math.IsNaN(p) {
			t.Fatalf("Predict(%v) = %v", v, p)
		}
	}
}

func TestTrainL2ShrinksWeights(t *testing.T) {
	x := [][]float64{{-1}, {-0.5}, {0.5}, {1}}
	y := []float64{0, 0, 1, 1}
	cfg := DefaultTrainConfig
	w0, _, _ := Train(x, y, cfg)
	cfg.L2 = 1
	w1, _, _ := Train(x, y, cfg)
	if !(math.Abs(w1[0]) < math.Abs(w0[0])) {
		t.Fatalf("L2=1 weight %v not smaller than L2=%v weight %v", w1[0], DefaultTrainConfig.L2, w0[0])
	}
}

func TestTrainRejectsOneClass(t *testing.T) {
	if _, _, err := Train([][]float64{{1}, {2}}, []float64{1, 1}, DefaultTrainConfig); err == nil {
		t.Fatal("want an error for a single class")
	}
}

func TestDesignInputs(t *testing.T) {
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	cols := []string{"orders", "city", "constant", "last", "empty", "flag"}
	rows := []Row{
		{Values: []any{3.0, "Prague", 1.0, "2026-03-31", nil, true}, Now: now},
		{Values: []any{"5", "Brno", 1.0, nil, nil, "false"}, Now: now},
		{Values: []any{nil, "Prague", 1.0, "2026-03-01T00:00:00Z", "", false}, Now: now},
		{Values: []any{1.0, "Ostrava", 1.0, "2026-03-21", nil, true}, Now: now},
	}
	inputs := DesignInputs(cols, map[string]string{"orders": "Orders"}, rows)
	var got []string
	for _, in := range inputs {
		got = append(got, in.Column+":"+in.Kind+":"+in.Level)
		if !(in.Std > 0) {
			t.Errorf("input %+v has no scale", in)
		}
	}
	want := []string{"orders:number:", "orders:missing:", "city:level:Prague", "city:level:Brno", "city:level:Ostrava",
		"last:number:", "last:missing:", "flag:number:"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("inputs\n got %v\nwant %v", got, want)
	}
	if inputs[0].Name != "Orders" || inputs[0].Mean != 3 {
		t.Fatalf("orders input %+v: want name Orders and mean 3 (missing filled with the mean)", inputs[0])
	}
	// A date is its age in days before data_now; a missing number is the
	// mean, standardized to 0.
	last := inputs[5]
	if v := last.raw(rows[0]); v != 1 {
		t.Fatalf("last purchase one day before data_now encodes as %v", v)
	}
	if v := Vector(inputs, rows[2])[0]; v != 0 {
		t.Fatalf("missing orders standardize to %v, want 0", v)
	}
	// Binding to another column order, with a column absent.
	m := &Model{Inputs: inputs, Weights: make([]float64, len(inputs))}
	if absent := m.Bind([]string{"flag", "city"}); strings.Join(absent, ",") != "orders,last" {
		t.Fatalf("absent = %v", absent)
	}
	if p := m.Score(Row{Values: []any{true, "Brno"}}); p != 0.5 {
		t.Fatalf("zero model scores %v", p)
	}
}

// ---- the contract: the plugin as a real process against the fixture ----

// plantedDataset has a known signal: users with more orders and the
// newsletter convert more; city and noise are unrelated; a fifth have no
// last purchase date.
func plantedDataset(n int, seed uint64) (*plugintest.Dataset, map[string]float64) {
	r := rand.New(rand.NewPCG(seed, 99))
	d := &plugintest.Dataset{Features: []plugintest.Feature{
		{Column: "feature_orders", Name: "Orders", Type: "numerical", NativeType: "number"},
		{Column: "feature_newsletter", Name: "Newsletter", Type: "categorical", NativeType: "boolean"},
		{Column: "feature_city", Name: "City", Type: "categorical", NativeType: "string"},
		{Column: "feature_last_purchase", Name: "Last purchase", Type: "numerical", NativeType: "date"},
		{Column: "feature_noise", Name: "Noise", Type: "numerical", NativeType: "number"},
	}}
	truth := map[string]float64{}
	cities := []string{"Prague", "Brno", "Ostrava", "Plzen"}
	for i := range n {
		orders := float64(r.IntN(8))
		news := r.Float64() < 0.4
		z := -3 + 0.9*orders
		if news {
			z += 1.5
		}
		p := Sigmoid(z)
		id := fmt.Sprintf("u_%05d", i)
		truth[id] = p
		f := map[string]any{
			"feature_orders":     orders,
			"feature_newsletter": news,
			"feature_city":       cities[r.IntN(len(cities))],
			"feature_noise":      r.NormFloat64(),
		}
		if r.Float64() < 0.8 {
			f["feature_last_purchase"] = time.Date(2026, 3, 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
		}
		if i%50 == 0 {
			f["feature_orders"] = nil // missing values must not break anything
		}
		d.Users = append(d.Users, plugintest.User{ID: id, Converted: r.Float64() < p, Random: r.Float64(), Features: f})
	}
	return d, truth
}

func self(t *testing.T) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe}
}

var pluginEnv = []string{"WEFT_EXAMPLE_PLUGIN=1"}

func TestContractInitialThenBatches(t *testing.T) {
	srv := plugintest.NewServer(t)
	ds, truth := plantedDataset(3000, 7)
	srv.SetDataset("initial", ds)

	run := srv.RunStage(t, self(t), pluginEnv, srv.InitialManifest(map[string]any{"max_batch_size": 1500.0}), "initial")
	if run.ExitCode != 0 || run.StatusCode() != "success" {
		t.Fatalf("initial: exit %d, results %s\nstderr: %s", run.ExitCode, run.RawJSON, run.Stderr)
	}
	res := run.Results
	st := res["status"].(map[string]any)
	for _, k := range []string{"title", "explanation", "backtrace"} {
		if v, ok := st[k]; !ok || v != nil {
			t.Errorf("status.%s = %v, want null", k, v)
		}
	}
	data := res["data"].(map[string]any)
	if s, _ := data["summary"].(string); !strings.Contains(s, "AUC") {
		t.Errorf("summary %q", s)
	}
	if auc := data["auc"].(float64); auc < 0.75 {
		t.Errorf("holdout AUC %v on a planted signal", auc)
	}
	if data["evaluatedOn"] != "holdout" {
		t.Errorf("evaluatedOn %v", data["evaluatedOn"])
	}
	if _, ok := res["score"].(float64); !ok {
		t.Errorf("no numeric score: %v", res["score"])
	}
	batches := res["batches"].(map[string]any)
	if batches["maxBatchSize"] != 1500.0 {
		t.Errorf("maxBatchSize %v", batches["maxBatchSize"])
	}
	options := batches["options"].(map[string]any)
	mb, ok := srv.File("initial", "model.json")
	if !ok {
		t.Fatalf("model.json not uploaded; requests %v", srv.Requests())
	}
	var model Model
	if err := json.Unmarshal(mb, &model); err != nil || len(model.Weights) != len(model.Inputs) {
		t.Fatalf("model.json: %v %s", err, mb)
	}

	// Two batches over complementary user ranges, as the seed describes
	// (the training dataset's key, with the range appended), each uploading
	// into its own storage stage.
	scores := map[string]float64{}
	for i, rg := range [][2]float64{{0, 0.5}, {0.5, 1}} {
		label := fmt.Sprintf("batch-%d", i)
		run := srv.RunStage(t, self(t), pluginEnv, srv.BatchManifest("initial", rg[0], rg[1], label, options, nil), label)
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
		local, err := os.ReadFile(run.Dir + "/data.json")
		if err != nil || string(local) != string(up) {
			t.Errorf("data.json in the working directory differs from the upload (%v)", err)
		}
		d, byUser := plugintest.CheckDataJSON(t, up)
		if d.Category != "Conversion likelihood" || len(d.Properties) != 1 || d.Properties[0] != "conversion_likelihood" {
			t.Errorf("category %q, properties %v", d.Category, d.Properties)
		}
		for id, v := range byUser {
			p, ok := v[0].(float64)
			if !ok || p < 0 || p > 1 {
				t.Fatalf("user %s scored %v", id, v[0])
			}
			if _, dup := scores[id]; dup {
				t.Fatalf("user %s in two batches", id)
			}
			scores[id] = p
		}
	}
	if len(scores) != len(ds.Users) {
		t.Fatalf("scored %d users, dataset has %d", len(scores), len(ds.Users))
	}
	// The scores recover the planted signal.
	var s, y, tr []float64
	for _, u := range ds.Users {
		s = append(s, scores[u.ID])
		tr = append(tr, truth[u.ID])
		if u.Converted {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
	}
	auc, _ := AUC(s, y)
	if auc < 0.75 {
		t.Errorf("scores vs outcomes AUC %v", auc)
	}
	if c := corr(s, tr); c < 0.9 {
		t.Errorf("scores vs true likelihood correlation %v", c)
	}
}

func corr(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// The batch stage also finds its users under a "batch" dataUrls key (the
// spec's §9.2 proposal) and works without options (defaults).
func TestContractBatchKeyAndDefaults(t *testing.T) {
	srv := plugintest.NewServer(t)
	ds, _ := plantedDataset(400, 11)
	srv.SetDataset("initial", ds)
	if run := srv.RunStage(t, self(t), pluginEnv, srv.InitialManifest(nil), "initial"); run.ExitCode != 0 {
		t.Fatalf("initial: %s\n%s", run.RawJSON, run.Stderr)
	}
	run := srv.RunStage(t, self(t), pluginEnv, srv.BatchManifest("batch", 0, 0.25, "b", nil, nil), "b")
	if run.ExitCode != 0 {
		t.Fatalf("batch: %s\n%s", run.RawJSON, run.Stderr)
	}
	up, _ := srv.File("b", "data.json")
	_, byUser := plugintest.CheckDataJSON(t, up)
	want := 0
	for _, u := range ds.Users {
		if u.Random < 0.25 {
			want++
			if _, ok := byUser[u.ID]; !ok {
				t.Fatalf("user %s of the range not scored", u.ID)
			}
		}
	}
	if len(byUser) != want {
		t.Fatalf("scored %d users, the range has %d", len(byUser), want)
	}
	// An empty range still uploads a valid data.json.
	run = srv.RunStage(t, self(t), pluginEnv, srv.BatchManifest("batch", 0.5, 0.5+1e-9, "empty", nil, nil), "empty")
	if run.ExitCode != 0 {
		t.Fatalf("empty batch: %s\n%s", run.RawJSON, run.Stderr)
	}
	up, _ = srv.File("empty", "data.json")
	if d, byUser := plugintest.CheckDataJSON(t, up); len(byUser) != 0 || d.Updates == nil {
		t.Fatalf("empty batch data.json: %s", up)
	}
}

func TestContractFailures(t *testing.T) {
	srv := plugintest.NewServer(t)
	ds, _ := plantedDataset(300, 5)
	srv.SetDataset("initial", ds)

	t.Run("dataset 500", func(t *testing.T) {
		srv.FailDatasets(500)
		defer srv.FailDatasets(0)
		plugintest.AssertFailed(t, srv.RunStage(t, self(t), pluginEnv, srv.InitialManifest(nil), "initial"), "500")
	})
	t.Run("upload refused", func(t *testing.T) {
		// Uploads are accepted only for another stage than the manifest's.
		plugintest.AssertFailed(t, srv.RunStage(t, self(t), pluginEnv, srv.InitialManifest(nil), "stage1"), "403")
	})
	t.Run("no goal", func(t *testing.T) {
		m := srv.InitialManifest(nil)
		m["metadata"].(map[string]any)["goal"] = nil
		plugintest.AssertFailed(t, srv.RunStage(t, self(t), pluginEnv, m, "initial"), "binary goal")
	})
	t.Run("one outcome", func(t *testing.T) {
		one := &plugintest.Dataset{Features: ds.Features}
		for _, u := range ds.Users {
			u.Converted = false
			one.Users = append(one.Users, u)
		}
		srv.SetDataset("initial", one)
		defer srv.SetDataset("initial", ds)
		plugintest.AssertFailed(t, srv.RunStage(t, self(t), pluginEnv, srv.InitialManifest(nil), "initial"), "none of")
	})
	t.Run("batch without a model", func(t *testing.T) {
		plugintest.AssertFailed(t, srv.RunStage(t, self(t), pluginEnv, srv.BatchManifest("initial", 0, 1, "nomodel", nil, nil), "nomodel"), "404")
	})
	t.Run("batch dataset 500", func(t *testing.T) {
		srv.PutFile("initial", "model.json", []byte(`{"version":1,"inputs":[{"column":"feature_orders","kind":"number","mean":1,"std":1}],"weights":[1],"bias":0}`))
		srv.FailDatasets(500)
		defer srv.FailDatasets(0)
		run := srv.RunStage(t, self(t), pluginEnv, srv.BatchManifest("initial", 0, 1, "b500", nil, nil), "b500")
		plugintest.AssertFailed(t, run, "500")
		if _, ok := srv.File("b500", "data.json"); ok {
			t.Error("a failed batch uploaded data.json")
		}
	})
	t.Run("invalid manifest", func(t *testing.T) {
		plugintest.AssertFailed(t, srv.RunStage(t, self(t), pluginEnv, map[string]any{"dataUrls": map[string]any{}}, "initial"), "no stage")
	})
	t.Run("unknown stage", func(t *testing.T) {
		m := srv.InitialManifest(nil)
		m["stage"] = "trainMore"
		plugintest.AssertFailed(t, srv.RunStage(t, self(t), pluginEnv, m, "trainMore"), "trainMore")
	})
}

// Datasets larger than max_training_users are sampled with the range
// parameters instead of read whole.
func TestContractSamplesLargeDatasets(t *testing.T) {
	srv := plugintest.NewServer(t)
	ds, _ := plantedDataset(2000, 13)
	srv.SetDataset("initial", ds)
	run := srv.RunStage(t, self(t), pluginEnv, srv.InitialManifest(map[string]any{"max_training_users": 1000.0}), "initial")
	if run.ExitCode != 0 {
		t.Fatalf("%s\n%s", run.RawJSON, run.Stderr)
	}
	var q string
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r, "GET /dataset/initial") {
			q = r
		}
	}
	v := plugintest.Query("http://x" + strings.TrimPrefix(q, "GET "))
	if v.Get("range_start_gt_or_eq") != "0" || v.Get("range_end_lt") != "0.5" {
		t.Fatalf("dataset request %q: want the range [0, 0.5)", q)
	}
	data := run.Results["data"].(map[string]any)
	if n := data["trainUsers"].(float64) + data["holdoutUsers"].(float64); n < 850 || n > 1150 {
		t.Fatalf("trained on a sample of %v users, want about 1000", n)
	}
}
