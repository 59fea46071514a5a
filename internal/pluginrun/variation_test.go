package pluginrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// tunedYAML declares testdata/tuned.py twice over one hyper-parameter:
// tuned (two variations at once) and early (one at a time, stopping early).
const tunedYAML = `plugins:
  - name: tuned
    command: [%[1]q, %[2]q, plain]
    hyperparameters: [{name: depth, spec: "integer 1,2,3"}]
  - name: early
    command: [%[1]q, %[2]q, early]
    hyperparameters: [{name: depth, spec: "integer 1,2,3"}]
    parallel_variations: 1
`

// TestVariationsVaryEveryStage: a variation runs the additional stages
// its initial stage asks for with its own values and folders, and its
// score is its last stage's, so the winner is the best refine (depth 3),
// not the best initial (depth 1); the run goes on with the winner's
// stages without running them again. A stopEarly in an additional stage
// skips the variations not started.
func TestVariationsVaryEveryStage(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	script, err := filepath.Abs("testdata/tuned.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			r := newRunnerWith(t, backend, fmt.Sprintf(tunedYAML, py, script))
			finish := func(run, name string) State {
				t.Helper()
				j := r.info.New()
				st, err := j.Prepare(ctx, r.invocation(run, `{"plugin": "`+name+`"}`), nil, false)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; r.state(st).Phase != PhaseSucceeded; i++ {
					if s := r.state(st); s.Phase == PhaseFailed || i > 20 {
						t.Fatalf("%s: %s", name, st.State)
					}
					st = r.perform(j, st)
				}
				return r.state(st)
			}

			s := finish("run-tuned", "tuned")
			if len(s.Variations) != 3 || s.Best == nil || *s.Best != 2 || s.InputParams["depth"] != 3.0 {
				t.Fatalf("tuned: best %v of %+v", s.Best, s.Variations)
			}
			for k, v := range s.Variations {
				depth := float64(k + 1)
				if v.Status != plugin.StatusSucceeded || len(v.StageResults) != 1 || v.Score == nil || *v.Score != depth*10 {
					t.Fatalf("variation %d: %+v", k, v)
				}
				var data struct {
					Depth    float64
					Initial  string
					Upload   string
					Datasets []string
				}
				if err := json.Unmarshal(v.StageResults[0].Data, &data); err != nil {
					t.Fatal(err)
				}
				if data.Depth != depth || !strings.Contains(data.Initial, fmt.Sprintf("/initial-v%d/", k)) ||
					!strings.Contains(data.Upload, fmt.Sprintf("/refine-v%d/", k)) || fmt.Sprint(data.Datasets) != "[initial later]" {
					t.Fatalf("variation %d's refine saw %+v", k, data)
				}
			}
			if len(s.Stages) != 2 || s.Stages[1].Name != "refine" || !strings.Contains(string(s.Stages[1].Data), `"depth": 3.0`) && !strings.Contains(string(s.Stages[1].Data), `"depth":3`) {
				t.Fatalf("the run's stages are not the winner's: %+v", s.Stages)
			}
			if got := s.scope("refine"); got != "refine-v2" {
				t.Fatalf("refine's folder %s, want refine-v2", got)
			}
			rows, err := r.svc.StageList(ctx, "run-tuned")
			if err != nil {
				t.Fatal(err)
			}
			var stages []string
			for _, row := range rows {
				stages = append(stages, row.Stage)
			}
			slices.Sort(stages)
			if fmt.Sprint(stages) != "[initial-v0 initial-v1 initial-v2 refine-v0 refine-v1 refine-v2]" {
				t.Fatalf("stage processes %v", stages)
			}

			s = finish("run-early", "early")
			var statuses []string
			for _, v := range s.Variations {
				statuses = append(statuses, v.Status)
			}
			if fmt.Sprint(statuses) != "[succeeded succeeded skipped]" || *s.Best != 1 || !s.Variations[1].StopEarly {
				t.Fatalf("early: best %d, variations %+v", *s.Best, s.Variations)
			}
		})
	}
}
