package erasure_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestSuppressionDropConfined: the stitching rules the ingest drop runs are
// config SQL, run as PostgreSQL's restricted role like the others. A rule
// whose value is the role running it (current_user) finds the suppressed
// value only when it runs as the config SQL role, so the event is dropped
// only then.
func TestSuppressionDropConfined(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, "postgres")
	var role string
	if err := db.QueryRowContext(ctx, "SELECT current_user || '_config_sql'").Scan(&role); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE erasure_state SET salt = 'ab' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO suppressed_identifiers VALUES (weft_sha256('ab' || 'runner:' || $1), 'runner', now())", role); err != nil {
		t.Fatal(err)
	}
	rules := stitch.Config{Rules: []stitch.Rule{{Identifier: "runner", Event: "crm/customer_update", ValueExpression: "current_user"}}}
	sup := erasure.NewSuppressor(db, func(context.Context) (stitch.Config, error) { return rules, nil })
	w := &event.Writer{In: event.NewIngester(db, &event.IngesterOpts{Suppress: sup.DropQuery})}
	rec := `{"id":"confined-1","source_id":"crm","type":"customer_update","version":"1","event_time":"2026-01-01T00:00:00Z","payload":{}}`
	if rej, err := w.Append(ctx, []json.RawMessage{json.RawMessage(rec)}); err != nil || len(rej) > 0 {
		t.Fatalf("ingest: %v %+v", err, rej)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM event_log WHERE id = 'confined-1'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d events stored (%v): the rule did not run as %s", n, err, role)
	}
}
