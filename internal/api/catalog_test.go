package api_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/pipeline"
)

// A config naming event types the catalog does not know is applied with a
// warning per name and its near matches; under --strict-catalog it is
// refused. An empty catalog is not checked.
func TestApplyWarnsOfUnknownEventTypes(t *testing.T) {
	const typo = `stitching:
  rules:
    - {identifier: stitching_email, event: shop/ordr, value_expression: "payload->>'email'"}
    - {identifier: stitching_email, event: shop/order/1-0-0, value_expression: "payload->>'email'"}
    - {identifier: stitching_email, event: shpo/*, value_expression: "payload->>'email'"}
attributes:
  - {id: spent, type: sum, data_type: float, value: "(payload->>'total')::float", sources: [shop], types: [ordr, order]}
`
	const register = `[{"source_id":"shop","type":"order","version":"1-0-0"},{"source_id":"shop","type":"refund","version":"1-0-0"}]`
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				st := openStore(t, backend)
				logger := slog.New(slog.NewTextHandler(io.Discard, nil))
				p, err := pipeline.New(context.Background(), st, pipeline.Options{StitchInterval: -1, StrictCatalog: strict, Logger: logger,
					Jobs: jobrunner.Options{Poll: 20 * time.Millisecond}})
				if err != nil {
					t.Fatal(err)
				}
				s := newServerOn(t, st, api.Config{Pipeline: p})
				if !strict {
					r := s.do(t, "PUT", "/v1/config", nil, []byte(typo))
					if a := decode[pipeline.Applied](t, r); r.status != 200 || len(a.Warnings) != 0 {
						t.Fatalf("empty catalog: %d %s", r.status, r.body)
					}
				}
				if r := s.do(t, "POST", "/v1/event-types", nil, []byte(register)); r.status != 200 {
					t.Fatalf("register: %d %s", r.status, r.body)
				}
				r := s.do(t, "PUT", "/v1/config", nil, []byte(typo))
				if strict {
					expectError(t, r, 400, "invalid_config", "event type shop/ordr is not in the catalog; did you mean shop/order?")
					continue
				}
				a := decode[pipeline.Applied](t, r)
				want := []string{
					"stitching.rules[0].event: event type shop/ordr is not in the catalog; did you mean shop/order?",
					"stitching.rules[2].event: source shpo is not in the catalog; did you mean shop?",
					"attributes[spent].types: event type ordr is not in the catalog; did you mean order?",
				}
				if r.status != 200 || strings.Join(a.Warnings, "\n") != strings.Join(want, "\n") {
					t.Fatalf("apply: %d %s\nwant warnings:\n%s", r.status, r.body, strings.Join(want, "\n"))
				}
				fixed := strings.NewReplacer("ordr", "order", "shpo", "shop").Replace(typo)
				if r := s.do(t, "PUT", "/v1/config", nil, []byte(fixed)); r.status != 200 || strings.Contains(string(r.body), "warnings") {
					t.Fatalf("the fixed config: %d %s", r.status, r.body)
				}
			}
		})
	}
}
