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
	"github.com/weftdata/weft/internal/worked"
)

// Applying new or changed attributes calculates them at once (with the
// background on), rather than leaving them "never" calculated until the
// next scheduled run; the answer says so.
func TestApplyCalculatesNewAttributes(t *testing.T) {
	custom := "  - {id: purchases_custom, type: custom, data_type: int, query: \"SELECT count(*) AS value FROM base WHERE type = 'purchase'\"}\n"
	if !strings.HasSuffix(worked.Config, custom) {
		t.Fatal("the worked config no longer ends with purchases_custom")
	}
	without := strings.TrimSuffix(worked.Config, custom)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			st := openStore(t, backend)
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			// The background is on, but its stitching timer is far away:
			// only the explicit calls below and what apply triggers run.
			p, err := pipeline.New(context.Background(), st, pipeline.Options{StitchInterval: time.Hour, Logger: logger,
				Jobs: jobrunner.Options{Poll: 20 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); p.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			s := newServerOn(t, st, api.Config{Pipeline: p})

			if a := decode[pipeline.Applied](t, s.do(t, "PUT", "/v1/config", nil, []byte(without))); !a.AttributesCalculating {
				t.Fatalf("first apply with attributes: %+v", a)
			}
			if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(worked.Events, "\n"))); r.status != 200 {
				t.Fatalf("ingest: %s", r.body)
			}
			if r := s.do(t, "POST", "/v1/stitching/run", nil, nil); r.status != 200 {
				t.Fatalf("stitching: %s", r.body)
			}
			if r := s.do(t, "POST", "/v1/attributes/run", nil, []byte(`{}`)); r.status != 200 {
				t.Fatalf("attributes: %s", r.body)
			}
			if a := decode[pipeline.Applied](t, s.do(t, "PUT", "/v1/config", nil, []byte(without+"\n"))); a.AttributesCalculating {
				t.Fatalf("the same attributes again: %+v", a)
			}
			if a := decode[pipeline.Applied](t, s.do(t, "PUT", "/v1/config", nil, []byte(worked.Config))); !a.AttributesCalculating {
				t.Fatalf("a new attribute: %+v", a)
			}
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				jane := decode[struct {
					Attributes map[string]any `json:"attributes"`
				}](t, s.do(t, "GET", "/v1/entities?identifier=stitching_email:jane@example.com", nil, nil))
				if jane.Attributes["purchases_custom"] == 2.0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the new attribute was not calculated after apply: %v", jane.Attributes)
				}
			}
		})
	}
}
