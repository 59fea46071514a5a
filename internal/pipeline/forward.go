package pipeline

import (
	"context"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
)

// ApplyOptions choose how a config is put in force.
type ApplyOptions struct {
	// StitchingForward applies changed stitching rules to the events
	// stitched from now on only, as Meiro CPS does: the entities built so
	// far stay as they are, and events stitched before are not linked
	// again under the new rules (a rebuild, weft stitch --from-scratch,
	// does that later). Without it, a change of the rules rebuilds the
	// entities from the whole log on the next pass.
	StitchingForward bool
}

// ForwardPendingWarning is Apply's warning when StitchingForward could
// not keep the entities: a rebuild was already due, for an earlier change
// of the rules, and it now uses the new ones.
const ForwardPendingWarning = "stitching: the entities were due for a rebuild already (an earlier change of the rules): it runs with the new rules; forward-only applies to later changes"

// forward records the rules of cfg as those the entities were built
// with, when they were built with those of old (no rebuild pending), so
// that the next pass continues incrementally under cfg's rules. It says
// whether it did. p.runMu is held.
func (p *Pipeline) forward(ctx context.Context, old, cfg *config.Config) (bool, error) {
	built, err := p.rulesHash(ctx)
	if err != nil {
		return false, err
	}
	// Nothing built yet (no pass ever ran) is built under any rules.
	if built != "" && built != old.StitchingHash() {
		return false, nil
	}
	return true, p.setRulesHash(ctx, cfg.StitchingHash())
}

// RefreshContexts runs every context query of the config in force now
// (attr.Engine.RefreshContexts).
func (p *Pipeline) RefreshContexts(ctx context.Context) (*attr.ContextRefresh, error) {
	return withAttributes(ctx, p, (*attr.Engine).RefreshContexts)
}

// RefreshCaches counts the attribute caches again from the values
// (attr.Engine.RefreshCaches).
func (p *Pipeline) RefreshCaches(ctx context.Context) (*attr.CacheRefresh, error) {
	return withAttributes(ctx, p, (*attr.Engine).RefreshCaches)
}

// withAttributes runs op on the attribute engine in force, as a run of
// the attributes (p.runMu held).
func withAttributes[T any](ctx context.Context, p *Pipeline, op func(*attr.Engine, context.Context) (T, error)) (T, error) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	f, err := p.current(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return op(f.engines.attr, ctx)
}
