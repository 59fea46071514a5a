package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/worked"
)

// Validate is Apply without the changes: the same verdicts, no new
// version, no object table created.
func TestValidateChangesNothing(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			p, db := newPipeline(t, backend)
			before, err := db.ConfigCurrent(ctx)
			if err != nil {
				t.Fatal(err)
			}
			withObjects := worked.Config + `
objects:
  - name: stores
    fields:
      - {name: store_id, type: string, primary: true}
      - {name: city, type: string}
`
			if _, err := p.Validate(ctx, []byte(withObjects)); err != nil {
				t.Fatalf("validate a good config: %v", err)
			}
			bad := worked.Config + "\nsegments:\n  - id: vip\n    condition: {attribute: nope, op: is_set}\n"
			_, vErr := p.Validate(ctx, []byte(bad))
			var cfgErr *config.Error
			if !errors.As(vErr, &cfgErr) {
				t.Fatalf("validate a bad config: %v, want a *config.Error", vErr)
			}
			after, err := db.ConfigCurrent(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.Version != before.Version || after.Body != before.Body {
				t.Errorf("validate changed the config in force: version %d -> %d", before.Version, after.Version)
			}
			_, cfg, err := p.Config(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Objects) != 0 {
				t.Errorf("validate put object types in force: %+v", cfg.Objects)
			}
			eng, err := p.check(ctx, []byte(withObjects))
			if err != nil {
				t.Fatal(err)
			}
			if ddl, err := p.objects.Plan(ctx, eng.engines.objects); err != nil || len(ddl) == 0 {
				t.Errorf("the object table exists after validate (plan %q, %v)", ddl, err)
			}
			// Apply gives the verdict Validate gave.
			if _, aErr := p.Apply(ctx, []byte(bad)); aErr == nil || aErr.Error() != vErr.Error() {
				t.Errorf("apply says %v, validate said %v", aErr, vErr)
			}
			if _, err := p.Apply(ctx, []byte(withObjects)); err != nil {
				t.Fatalf("apply what validated: %v", err)
			}
		})
	}
}
