package pipeline

import (
	"context"
	"testing"

	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/worked"
)

// TestRecluster: re-clustering under rules the entities were not built
// with rebuilds them; with none to re-cluster it does nothing; each time
// entities changed, an attribute run is asked for.
func TestRecluster(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			p, db := newPipeline(t, backend)
			res, err := p.Recluster(ctx, []string{"nobody"}, "")
			if err != nil || res.EventsProcessed != len(worked.Events) || res.EntitiesCreated != 3 {
				t.Fatalf("re-cluster before the first pass under the rules in force: %+v %v, want a rebuild", res, err)
			}
			if n := pendingRuns(t, db, AttributesJob); n != 1 {
				t.Fatalf("%d attribute runs waiting, want 1", n)
			}
			if res, err := p.Recluster(ctx, nil, ""); err != nil || res.EventsProcessed != 0 || res.EntitiesCreated != 0 || res.Merges != 0 {
				t.Fatalf("re-cluster of no entity: %+v %v", res, err)
			}
		})
	}
}
