package pluginrun

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// wavesYAML declares the waves plugin (testdata/waves.py) over the
// customers of batchRunner, with its batches' parallelism.
const wavesYAML = `plugins:
  - name: waves
    command: [%q, %q, %q]
%s`

// batchSpan is when a batch's process ran, as it recorded it.
type batchSpan struct{ Start, End float64 }

// TestRunParallelBatches runs the batches of one plugin one after the
// other, then three at once, with a real plugin process: the three run at
// the same time (their spans overlap), in one step, and the run publishes
// the same values as the sequential one.
func TestRunParallelBatches(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			r, db, _, all := batchRunner(t, backend)
			py, _ := exec.LookPath("python3")
			script, err := filepath.Abs("testdata/waves.py")
			if err != nil {
				t.Fatal(err)
			}
			times := t.TempDir()
			var cfg *config.Config
			info := Info(&Deps{Plugins: r.svc, WorkDir: t.TempDir(),
				Config: func(context.Context) (*config.Config, error) { return cfg, nil }})
			run := func(id, extra string) (steps int, spans []batchSpan, values map[string]string) {
				t.Helper()
				if cfg, err = config.Parse([]byte(fmt.Sprintf(wavesYAML, py, script, times, extra))); err != nil {
					t.Fatal(err)
				}
				j := info.New()
				st, err := j.Prepare(ctx, r.invocation(id, `{"plugin": "waves"}`), nil, false)
				if err != nil {
					t.Fatal(err)
				}
				for s := r.state(st); s.Phase != PhaseSucceeded; s = r.state(st) {
					if s.Phase == PhaseBatches {
						steps++
					}
					if s.Phase == PhaseFailed {
						t.Fatalf("%s failed: %s", id, st.State)
					}
					st = r.perform(j, st)
				}
				for k := range 3 {
					b, err := os.ReadFile(filepath.Join(times, fmt.Sprintf("batch-%d.json", k)))
					var sp batchSpan
					if err != nil || json.Unmarshal(b, &sp) != nil {
						t.Fatalf("%s: batch %d recorded no span: %v", id, k, err)
					}
					spans = append(spans, sp)
					os.Remove(filepath.Join(times, fmt.Sprintf("batch-%d.json", k)))
				}
				rows, err := db.QueryContext(ctx, `SELECT p.name, v.entity_id, v.value FROM plugin_property_values v
					JOIN plugin_properties p ON p.id = v.property_id WHERE p.run_id = $1`, id)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				values = map[string]string{}
				for rows.Next() {
					var name, entity, value string
					if err := rows.Scan(&name, &entity, &value); err != nil {
						t.Fatal(err)
					}
					values[name+" "+entity] = value
				}
				return steps, spans, values
			}
			seqSteps, seqSpans, seqValues := run("run-sequential", "")
			parSteps, parSpans, parValues := run("run-parallel", "    parallel_batches: 3\n")

			if len(seqValues) != 2*len(all) || !maps.Equal(seqValues, parValues) {
				t.Fatalf("the parallel run published %d values, the sequential one %d: they differ", len(parValues), len(seqValues))
			}
			batches := map[string]int{}
			for k, v := range parValues {
				if k[:6] == "batch " {
					batches[v]++
				}
			}
			if len(batches) != 3 || batches["0"]+batches["1"]+batches["2"] != len(all) {
				t.Fatalf("users per batch %v", batches)
			}
			if seqSteps != 3 || parSteps != 1 {
				t.Errorf("batch steps: sequential %d, parallel %d; want 3 and 1", seqSteps, parSteps)
			}
			slices.SortFunc(seqSpans, func(a, b batchSpan) int { return int((a.Start - b.Start) * 1e6) })
			for k := 1; k < 3; k++ {
				if seqSpans[k].Start < seqSpans[k-1].End {
					t.Errorf("sequential batches overlap: %+v", seqSpans)
				}
			}
			latestStart, firstEnd := parSpans[0].Start, parSpans[0].End
			for _, sp := range parSpans {
				latestStart, firstEnd = max(latestStart, sp.Start), min(firstEnd, sp.End)
			}
			if latestStart >= firstEnd {
				t.Errorf("parallel batches did not run at once: %+v", parSpans)
			}
		})
	}
}
