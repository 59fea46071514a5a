package pipeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weftdata/weft/internal/attr"
)

// attributesChanged says whether a config adds or changes an attribute
// (removals need no calculation: their values go with the definition).
func attributesChanged(old, cur []attr.Definition) bool {
	before := make(map[string]string, len(old))
	for _, d := range old {
		b, _ := json.Marshal(d)
		before[d.ID] = string(b)
	}
	for _, d := range cur {
		b, _ := json.Marshal(d)
		if before[d.ID] != string(b) {
			return true
		}
	}
	return false
}

// calculateNewAttributes triggers the attributes job when an applied
// config adds or changes attributes, so they are not "never" calculated
// until the next scheduled run. With the background off (a negative
// StitchInterval) everything runs on demand only, as after stitching.
func (p *Pipeline) calculateNewAttributes(ctx context.Context, old, cur []attr.Definition) (bool, error) {
	if p.opts.StitchInterval < 0 || !attributesChanged(old, cur) {
		return false, nil
	}
	if err := p.jobs.Ensure(ctx, AttributesJob, "apply"); err != nil {
		return false, fmt.Errorf("trigger attributes: %w", err)
	}
	return true, nil
}
