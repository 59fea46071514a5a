package pipeline

import (
	"context"
	"log/slog"
	"testing"

	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
)

const destinationsYAML = `stitching:
  rules:
    - {identifier: email, event: shop/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
segments:
  - {id: vip, condition: {attribute: spend, op: ">=", value: 100}}
destinations:
  - {id: crm, type: webhook, url: "http://127.0.0.1:9/hook", segments: [vip], secret: k}
  - {id: profiles, type: webhook, url: "http://127.0.0.1:9/hook", attributes: [spend], secret: k, cron: "0 0 * * * ?"}
  - {id: files, type: file_export, target: "file:///tmp/weft-exports/", format: csv, cron: "0 0 2 * * ?"}
`

// TestDestinationSchedules: every destination is the job
// destination:<id> of its type's kind, on its cron (a webhook's default
// every minute); a type whose job this binary lacks is listed disabled;
// TriggerDestinations starts the webhooks of segments only.
func TestDestinationSchedules(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, backend)
			p, err := New(ctx, db, Options{StitchInterval: -1, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Apply(ctx, []byte(destinationsYAML)); err != nil {
				t.Fatal(err)
			}
			got := map[string]jobrunner.Schedule{}
			for _, s := range p.Jobs().Schedules() {
				got[s.Job] = s
			}
			crm, profiles, files := got["destination:crm"], got["destination:profiles"], got["destination:files"]
			if crm.Kind != "destination_webhook" || crm.Cron == nil || crm.Cron.String() != "0 * * * * ?" || !crm.Enabled || crm.Parameters["destination"] != "crm" {
				t.Errorf("crm: %+v", crm)
			}
			if profiles.Cron == nil || profiles.Cron.String() != "0 0 * * * ?" || !profiles.Enabled {
				t.Errorf("profiles: %+v", profiles)
			}
			if _, built := p.Jobs().Lookup("destination_file_export"); !built && (files.Enabled || files.Disabled == "" || files.Kind != "destination_file_export") {
				t.Errorf("files, its type not built in: %+v", files)
			}
			if err := p.TriggerDestinations(ctx, "segments"); err != nil {
				t.Fatal(err)
			}
			if err := p.TriggerDestinations(ctx, "segments"); err != nil { // one run waits already
				t.Fatal(err)
			}
			runs, err := db.JobRunList(ctx, &store.JobRunListParams{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 1 || runs[0].Job != "destination:crm" || runs[0].Trigger != "segments" {
				t.Fatalf("runs after the triggers: %+v", runs)
			}
		})
	}
}
