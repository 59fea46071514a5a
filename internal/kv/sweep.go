package kv

import (
	"context"

	"github.com/weftdata/weft/job"
)

// SweepJob is the built-in job that deletes the expired kv records: reads
// already treat them as missing, so the sweep only reclaims the space of
// keys nobody reads again.
const SweepJob = "kv_sweep"

// SweepCronDefault runs the sweep hourly: one DELETE over the kv records
// (job state: few rows), cheap enough to run often, and expired records
// cost only space meanwhile.
const SweepCronDefault = "0 30 * * * ?"

// SweepResult is the sweep's final state.
type SweepResult struct {
	// Deleted is how many expired records the run deleted.
	Deleted int64 `json:"deleted"`
}

type sweepParams struct{}

// SweepInfo is the sweep job over the records of kv (of every job and the
// shared store), for the runtime's built-in jobs.
func SweepInfo(kv *KV) job.Info {
	return job.Typed[sweepParams, SweepResult](SweepJob, "delete the expired records of the kv stores",
		func() *sweep { return &sweep{kv: kv} })
}

type sweep struct {
	kv  *KV
	inv *job.Invocation
}

func (s *sweep) Prepare(_ context.Context, inv *job.Invocation, _ sweepParams, _ *SweepResult, _ bool) (bool, error) {
	s.inv = inv
	return false, nil
}

func (s *sweep) Perform(ctx context.Context, st *SweepResult) (bool, error) {
	n, err := s.kv.DeleteExpired(ctx)
	if err != nil {
		return false, err
	}
	st.Deleted = n
	s.inv.Log.Info("expired kv records deleted", "records", n)
	return true, nil
}
