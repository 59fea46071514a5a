// Command customweft is weft with one more job, built by the end-to-end
// tests the way a user adds their own: register in init, call Main.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	weftcmd "github.com/weftdata/weft/cmd"
	"github.com/weftdata/weft/job"
)

// slowCount appends one event per Perform, sleeping sleep_ms first, until
// it has appended `to`. Events have fixed ids, so a Perform repeated after
// a crash appends nothing twice.
type slowCount struct {
	inv    *job.Invocation
	params countParams
}

// countParams are the job's parameters, decoded strictly by the runtime:
// an unknown one or a wrong type is refused when the run is triggered.
type countParams struct {
	To      int `json:"to"`
	SleepMS int `json:"sleep_ms"`
}

// countState is the checkpoint, stored after every call.
type countState struct {
	N int `json:"n"`
}

func (s *slowCount) Prepare(ctx context.Context, inv *job.Invocation, p countParams, st *countState, resuming bool) (bool, error) {
	s.inv, s.params = inv, p
	inv.Log.Info("prepare", "resuming", resuming, "attempt", inv.Attempt)
	return false, nil
}

func (s *slowCount) Perform(ctx context.Context, st *countState) (bool, error) {
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-time.After(time.Duration(s.params.SleepMS) * time.Millisecond):
	}
	ev, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("slow-%d", st.N), "source_id": "jobs", "type": "tick", "version": "1-0-0",
		"event_time": "2026-11-23T00:00:00Z", "payload": map[string]any{"n": st.N}})
	if rej, err := s.inv.Events.Append(ctx, []json.RawMessage{ev}); err != nil || len(rej) > 0 {
		return false, fmt.Errorf("append: %v %v", rej, err)
	}
	st.N++
	done := st.N >= s.params.To
	if done {
		if err := s.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelSuccess, Activity: "Slow count", Title: "Counted", Summary: fmt.Sprintf("%d events", st.N)}); err != nil {
			return false, err
		}
	}
	return done, nil
}

func init() {
	job.Register(job.Typed[countParams, countState]("slow_count", "appends numbered events slowly",
		func() *slowCount { return new(slowCount) }))
}

func main() { weftcmd.Main() }
