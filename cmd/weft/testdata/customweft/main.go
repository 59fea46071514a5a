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
	inv *job.Invocation
}

func (s *slowCount) Prepare(ctx context.Context, inv *job.Invocation, st *job.Status, resuming bool) (*job.Status, error) {
	s.inv = inv
	inv.Log.Info("prepare", "resuming", resuming, "attempt", inv.Attempt)
	if resuming {
		return st, nil
	}
	return &job.Status{State: map[string]any{"n": 0}}, nil
}

func (s *slowCount) Perform(ctx context.Context, st *job.Status) (*job.Status, error) {
	n := int(st.State["n"].(float64))
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Duration(s.inv.Parameters["sleep_ms"].(float64)) * time.Millisecond):
	}
	ev, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("slow-%d", n), "source_id": "jobs", "type": "tick", "version": "1-0-0",
		"event_time": "2026-11-23T00:00:00Z", "payload": map[string]any{"n": n}})
	if rej, err := s.inv.Events.Append(ctx, []json.RawMessage{ev}); err != nil || len(rej) > 0 {
		return nil, fmt.Errorf("append: %v %v", rej, err)
	}
	n++
	done := n >= int(s.inv.Parameters["to"].(float64))
	if done {
		if err := s.inv.Notify.Notify(ctx, job.Notification{Level: job.LevelSuccess, Activity: "Slow count", Title: "Counted", Summary: fmt.Sprintf("%d events", n)}); err != nil {
			return nil, err
		}
	}
	return &job.Status{State: map[string]any{"n": n}, Complete: done}, nil
}

func init() {
	job.Register(job.Info{Name: "slow_count", Description: "appends numbered events slowly", New: func() job.Job { return new(slowCount) }})
}

func main() { weftcmd.Main() }
