package webhooktest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/job"
)

// performsMax bounds a run driven by Run: a run that goes on longer is
// stuck.
const performsMax = 1_000_000

// Run drives one run of a webhook destination's job as the job runtime
// does, with a fresh instance: Prepare, then Perform until the run is
// complete or fails, and returns its state.
func Run(ctx context.Context, deps *destination.Deps, secrets job.Store, id string) (destination.WebhookState, error) {
	j := destination.WebhookInfo(deps).New()
	inv := &job.Invocation{RunID: "run-" + id, Job: destination.JobName(id), Parameters: json.RawMessage(`{"destination":"` + id + `"}`),
		Attempt: 1, Env: &job.Env{Log: slog.New(slog.DiscardHandler), Secrets: secrets}}
	st, err := j.Prepare(ctx, inv, nil, false)
	for i := 0; err == nil && !st.Complete; i++ {
		if i == performsMax {
			return destination.WebhookState{}, errors.New("the run does not end")
		}
		st, err = j.Perform(ctx, st)
	}
	if err != nil {
		return destination.WebhookState{}, err
	}
	return job.StateOf[destination.WebhookState](st)
}
