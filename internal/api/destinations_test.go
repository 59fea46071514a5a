package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/destination/webhooktest"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/pipeline"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

const destinationsYAML = `stitching:
  rules:
    - {identifier: email, event: shop/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
segments:
  - {id: vip, condition: {attribute: spend, op: ">=", value: 100}}
destinations:
  - {id: crm, type: webhook, url: "%s", segments: [vip], identifiers: [email], secret: %s, batch_size: 10}
`

// TestDestinationsAPI walks the destinations routes over real HTTP: a
// webhook delivers through its job, one batch refused; the list, one
// destination, its dead letters and a replay; and the errors.
func TestDestinationsAPI(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			st := dbtest.Open(t, backend)
			key := []byte("0123456789abcdef0123456789abcdef")
			secrets, err := kv.NewSecrets(st, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := secrets.Put(ctx, "hook_key", job.Record{"key": "hook-secret"}); err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			p, err := pipeline.New(ctx, st, pipeline.Options{StitchInterval: -1, Logger: log,
				Jobs: jobrunner.Options{Poll: 20 * time.Millisecond, Env: job.Env{Secrets: secrets}}})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); p.Run(runCtx) }()
			t.Cleanup(func() { cancel(); <-done })
			s := newServerOn(t, st, api.Config{Pipeline: p, Logger: log})

			recv := webhooktest.Start(webhooktest.Options{Key: []byte("hook-secret"),
				Refuse: func(body []byte) bool { return strings.Contains(string(body), `"bad"`) }})
			t.Cleanup(recv.Close)

			// A secret that is not set is refused at apply.
			r := s.do(t, "PUT", "/v1/config", nil, []byte(fmt.Sprintf(destinationsYAML, recv.URL, "missing_key")))
			expectError(t, r, http.StatusBadRequest, "invalid_config", "destinations[crm].secret: secret missing_key has no field key")
			if r = s.do(t, "PUT", "/v1/config", nil, []byte(fmt.Sprintf(destinationsYAML, recv.URL, "hook_key"))); r.status != http.StatusOK {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			var last int64
			for i := range 25 {
				ent := fmt.Sprintf("e%02d", i)
				if i == 12 {
					ent = "bad"
				}
				err := st.QueryRowContext(ctx, `INSERT INTO segment_changes (segment_id, entity_id, change, changed_at, run_id)
					VALUES ('vip', $1, 'entered', CAST($2 AS TIMESTAMPTZ), 'r1') RETURNING seq`, ent, time.Now().UTC()).Scan(&last)
				if err != nil {
					t.Fatal(err)
				}
			}
			jobs := decode[struct {
				Jobs []struct{ Job, Kind, Cron string } `json:"jobs"`
			}](t, s.do(t, "GET", "/v1/jobs", nil, nil))
			found := false
			for _, j := range jobs.Jobs {
				found = found || j.Job == "destination:crm" && j.Kind == "destination_webhook" && j.Cron == "0 * * * * ?"
			}
			if !found {
				t.Fatalf("GET /v1/jobs does not declare destination:crm: %+v", jobs)
			}
			waitRun := func(id string) {
				t.Helper()
				for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					run := decode[store.JobRun](t, s.do(t, "GET", "/v1/jobs/runs/"+id, nil, nil))
					if jobrunner.Finished(run.Status) {
						if run.Status != store.RunComplete {
							t.Fatalf("run %+v", run)
						}
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("run %s did not end: %+v", id, run)
					}
				}
			}
			run := decode[store.JobRun](t, s.do(t, "POST", "/v1/jobs/destination:crm/runs", nil, nil))
			waitRun(run.ID)

			list := decode[struct{ Destinations []destination.Status }](t, s.do(t, "GET", "/v1/destinations", nil, nil))
			if len(list.Destinations) != 1 {
				t.Fatalf("list %+v", list)
			}
			d := list.Destinations[0]
			if d.ID != "crm" || d.Type != "webhook" || d.Job != "destination:crm" || d.Cursor != last || d.Pending != 0 || d.DeadLetters != 1 ||
				!onlyScheduledBeside(d.LastRuns, run.ID) || d.Definition.URL != recv.URL {
				t.Fatalf("destination %+v", d)
			}
			if len(recv.Changes()) != 15 {
				t.Fatalf("%d changes arrived, want the 15 of the batches not refused", len(recv.Changes()))
			}
			one := decode[destination.Status](t, s.do(t, "GET", "/v1/destinations/crm", nil, nil))
			if one.ID != "crm" || one.Cursor != last || one.DeadLetters != 1 {
				t.Fatalf("GET /v1/destinations/crm: %+v", one)
			}
			expectError(t, s.do(t, "GET", "/v1/destinations/nope", nil, nil), http.StatusNotFound, "not_found", `unknown destination "nope"`)
			expectError(t, s.do(t, "GET", "/v1/destinations/nope/dead-letters", nil, nil), http.StatusNotFound, "not_found", `unknown destination "nope"`)
			expectError(t, s.do(t, "GET", "/v1/destinations/crm/dead-letters?limit=0", nil, nil), http.StatusBadRequest, "bad_request", "limit must be an integer from 1 to 1000")
			expectError(t, s.do(t, "POST", "/v1/destinations/nope/dead-letters/replay", nil, nil), http.StatusNotFound, "not_found", `unknown destination "nope"`)
			expectError(t, s.do(t, "POST", "/v1/destinations/crm/dead-letters/replay", nil, []byte(`{"ids": "all"}`)), http.StatusBadRequest, "bad_request", "cannot unmarshal string")

			page := decode[struct {
				DeadLetters []destination.DeadLetter `json:"dead_letters"`
				Next        *int64                   `json:"next"`
			}](t, s.do(t, "GET", "/v1/destinations/crm/dead-letters?limit=1", nil, nil))
			if len(page.DeadLetters) != 1 || page.Next == nil || *page.Next != page.DeadLetters[0].ID {
				t.Fatalf("dead letters %+v", page)
			}
			dl := page.DeadLetters[0]
			if dl.Status != 422 || dl.Items != 10 || !strings.Contains(string(dl.Request), `"bad"`) || dl.IdempotencyKey != destination.ChangesKey("crm", last-15, last-5) {
				t.Fatalf("dead letter %+v", dl)
			}
			// Replaying an id that is not a dead letter does nothing.
			res := decode[destination.Replayed](t, s.do(t, "POST", "/v1/destinations/crm/dead-letters/replay", nil, []byte(`{"ids": [999999]}`)))
			if res.Replaying != 0 || res.Run != nil {
				t.Fatalf("replay of no dead letter: %+v", res)
			}
			recv.SetOptions(webhooktest.Options{})
			r = s.do(t, "POST", "/v1/destinations/crm/dead-letters/replay", nil, nil)
			if r.status != http.StatusAccepted {
				t.Fatalf("replay: %d %s", r.status, r.body)
			}
			if res = decode[destination.Replayed](t, r); res.Replaying != 1 || res.Run == nil || res.Run.Job != "destination:crm" {
				t.Fatalf("replay: %+v", res)
			}
			waitRun(res.Run.ID)
			if one = decode[destination.Status](t, s.do(t, "GET", "/v1/destinations/crm", nil, nil)); one.DeadLetters != 0 || len(recv.Changes()) != 25 {
				t.Fatalf("after the replay: %+v, %d changes arrived", one, len(recv.Changes()))
			}
		})
	}
}

// onlyScheduledBeside reports whether runs holds the run id and no run
// but it and those the job's schedule started. The destination's cron
// fires at every minute's start, so a test that crosses one sees a
// scheduled run beside the one it asked for; runs never overlap, so the
// deliveries are the same either way.
func onlyScheduledBeside(runs []*store.JobRun, id string) bool {
	found := false
	for _, r := range runs {
		switch {
		case r.ID == id:
			found = true
		case r.Trigger != "schedule":
			return false
		}
	}
	return found
}
