package job

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// Worker is a job whose parameters and checkpoint are Go types: P, the
// parameters, decoded strictly (ParamsOf) before Prepare; S, the state,
// stored as JSON after every call and decoded again before the next, so
// that a fresh run sees what a resumed one would. Typed makes it a Job.
//
// Prepare gets a zero state for a fresh run, or the last stored one when
// resuming, and sets it up; Perform advances it by one step. Each says
// whether the run is complete. See Job for the rest of the contract.
type Worker[P, S any] interface {
	Prepare(ctx context.Context, inv *Invocation, params P, state *S, resuming bool) (complete bool, err error)
	Perform(ctx context.Context, state *S) (complete bool, err error)
}

// Typed describes a Worker for Register: New returns a fresh worker for
// each run, and Info.Params checks parameters by decoding them into P
// and, when the worker is a ParamsValidator[P], calling it.
//
//	job.Register(job.Typed[ExportParams, ExportState]("nightly_export", "export the day's orders",
//		func() *Export { return new(Export) }))
func Typed[P, S any, W Worker[P, S]](name, description string, newWorker func() W) Info {
	return Info{
		Name:        name,
		Description: description,
		New:         func() Job { return &typed[P, S]{w: newWorker()} },
		Params: func(ctx context.Context, params json.RawMessage) error {
			p, err := ParamsOf[P](params)
			if err != nil {
				return err
			}
			if v, ok := any(newWorker()).(ParamsValidator[P]); ok {
				return v.ValidateParams(ctx, p)
			}
			return nil
		},
	}
}

// typed is a Worker as a Job: the one place where parameters and states
// cross between Go types and JSON.
type typed[P, S any] struct{ w Worker[P, S] }

func (t *typed[P, S]) Prepare(ctx context.Context, inv *Invocation, st *Status, resuming bool) (*Status, error) {
	p, err := ParamsOf[P](inv.Parameters)
	if err != nil {
		return nil, err
	}
	var s S
	if resuming && st != nil {
		if s, err = StateOf[S](st); err != nil {
			return nil, err
		}
	}
	complete, err := t.w.Prepare(ctx, inv, p, &s, resuming)
	if err != nil {
		return nil, err
	}
	return NewStatus(s, complete)
}

func (t *typed[P, S]) Perform(ctx context.Context, st *Status) (*Status, error) {
	s, err := StateOf[S](st)
	if err != nil {
		return nil, err
	}
	complete, err := t.w.Perform(ctx, &s)
	if err != nil {
		return nil, err
	}
	return NewStatus(s, complete)
}

// Close closes the worker if it holds resources.
func (t *typed[P, S]) Close() error {
	if c, ok := t.w.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("close: %w", err)
		}
	}
	return nil
}
