// Package myjobs holds the jobs of a custom weft build.
package myjobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weftdata/weft/job"
)

func init() {
	job.Register(job.Info{
		Name:        "heartbeat",
		Description: "appends one jobs/heartbeat event per run",
		New:         func() job.Job { return new(heartbeat) },
	})
}

// heartbeat appends one event to the log and reports it: the smallest job
// that does something, in one Perform.
type heartbeat struct{ inv *job.Invocation }

// Prepare runs at the start of a run and again when it resumes after a
// crash: keep what Perform needs on the job.
func (h *heartbeat) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	h.inv = inv
	if resuming {
		return st, nil
	}
	return &job.Status{}, nil
}

// Perform does one step and returns the next checkpoint; Complete ends the
// run. The event's id is the run's, so a Perform repeated after a crash
// appends nothing twice.
func (h *heartbeat) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	ev, err := json.Marshal(map[string]any{
		"id": "heartbeat-" + h.inv.RunID, "source_id": "jobs", "type": "heartbeat", "version": "1-0-0",
		"event_time": h.inv.ScheduledAt.UTC().Format("2006-01-02T15:04:05.000000Z"), "payload": map[string]any{"run": h.inv.RunID},
	})
	if err != nil {
		return nil, err
	}
	if rejected, err := h.inv.Events.Append(ctx, []json.RawMessage{ev}); err != nil || len(rejected) > 0 {
		return nil, fmt.Errorf("append the heartbeat: %v %v", rejected, err)
	}
	h.inv.Log.Info("heartbeat appended", "run", h.inv.RunID)
	err = h.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelSuccess, Activity: "Heartbeat", Title: "Heartbeat", Summary: "appended one jobs/heartbeat event"})
	return &job.Status{Complete: true}, err
}
