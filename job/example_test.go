package job_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/job"
)

// CountParams are a run's parameters: the job's parameters in weft.yaml,
// overridden by those of a trigger. The runtime decodes them strictly: an
// unknown parameter or a wrong type is refused, naming the parameter.
type CountParams struct {
	To int `json:"to"`
}

// CountState is the checkpoint, stored as JSON after every call: a run
// interrupted by a crash or a deploy resumes from it.
type CountState struct {
	N int `json:"n"`
}

// Count counts to CountParams.To, one step per Perform.
type Count struct {
	to int
}

// ValidateParams checks what the type alone cannot, when a configuration
// declaring the job is applied and when a run is triggered.
func (c *Count) ValidateParams(_ context.Context, p CountParams) error {
	if p.To < 1 {
		return &job.ParamError{Param: "to", Reason: "must be at least 1"}
	}
	return nil
}

// Prepare reads the parameters (and would open clients); state is zero
// for a fresh run and the last checkpoint for a resumed one.
func (c *Count) Prepare(_ context.Context, _ *job.Invocation, p CountParams, state *CountState, resuming bool) (bool, error) {
	c.to = p.To
	return state.N >= c.to, nil
}

// Perform does one step and says whether the run is complete.
func (c *Count) Perform(_ context.Context, state *CountState) (bool, error) {
	state.N++
	fmt.Println("counted", state.N)
	return state.N >= c.to, nil
}

func init() {
	job.Register(job.Typed[CountParams, CountState]("example_count", "counts to the parameter to",
		func() *Count { return new(Count) }))
}

// A custom job runs in the job runtime, here on a DuckDB store in a
// temporary directory: bad parameters are refused when the run is
// triggered, and the checkpoint after the last step is the typed state.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	dir, err := os.MkdirTemp("", "weft-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := duckdb.Open(ctx, dir, nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	runner := jobrunner.New(db, jobrunner.Options{Poll: 10 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	stopped := make(chan struct{})
	go func() { defer close(stopped); runner.Run(ctx) }()
	defer func() { stop(); <-stopped }()

	for _, params := range []map[string]any{{"to": "three"}, {"to": 0}, {"to": 3, "step": 1}} {
		_, err := runner.Trigger(ctx, "example_count", params, "manual")
		fmt.Println(err)
	}
	run, err := runner.Trigger(ctx, "example_count", map[string]any{"to": 3}, "manual")
	if err != nil {
		panic(err)
	}
	if run, err = runner.Wait(ctx, run.ID); err != nil {
		panic(err)
	}
	fmt.Println(run.Status, string(run.Checkpoint))
	// Output:
	// job example_count: parameter to: must be a whole number, not string
	// job example_count: parameter to: must be at least 1
	// job example_count: parameter step: unknown parameter (unknown field "step"; known: to)
	// counted 1
	// counted 2
	// counted 3
	// complete {"state":{"n":3},"complete":true}
}
