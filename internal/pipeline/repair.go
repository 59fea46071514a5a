package pipeline

import (
	"context"
	"fmt"

	"github.com/weftdata/weft/internal/stitch"
)

// reclusterTrigger names what triggers the attribute run after a manual
// repair (jobs list shows it).
const reclusterTrigger = "identity_repair"

// Recluster re-clusters the components holding the entities (live ids)
// under the stored constraints, after an operator added or removed one
// (POST /v1/entities/{id}/split, ...), with the engine of the config in
// force; then the attributes of what changed are due. constraint, when
// set, is the constraint added: the splits it makes name it. When the stitching
// rules changed since the entities were built, it rebuilds them instead,
// which honours the constraints too.
func (p *Pipeline) Recluster(ctx context.Context, entityIDs []string, constraint string) (*stitch.Result, error) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	f, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	built, err := p.rulesHash(ctx)
	if err != nil {
		return nil, err
	}
	var res *stitch.Result
	switch {
	case built != f.cfg.StitchingHash():
		var out *StitchResult
		if out, err = p.stitch(ctx, f, true); out != nil {
			res = &out.Result
		}
	case len(entityIDs) == 0:
		return &stitch.Result{}, nil
	default:
		res, err = f.engines.stitch.ReclusterFor(ctx, entityIDs, constraint)
	}
	if err != nil {
		return res, fmt.Errorf("re-cluster %d entities: %w", len(entityIDs), err)
	}
	// The entities are re-clustered: a failure to trigger their attributes
	// must not undo that (the next scheduled run calculates them).
	if p.opts.StitchInterval >= 0 {
		if err := p.jobs.Ensure(ctx, AttributesJob, reclusterTrigger); err != nil {
			p.log.Error("entities re-clustered, but their attributes wait for the next scheduled run", "error", err)
		}
	}
	return res, nil
}

// Carriers lists the live entities whose events carry the identifier by
// the stitching rules in force, blocked or not.
func (p *Pipeline) Carriers(ctx context.Context, category, value string) ([]string, error) {
	f, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	return f.engines.stitch.Carriers(ctx, category, value)
}
