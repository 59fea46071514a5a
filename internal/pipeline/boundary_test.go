package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/worked"
)

// sqlProbes are what SQL in the config tries beyond reading customer
// data, each as a query returning one column.
var sqlProbes = []struct{ name, query string }{
	{"read_text", "SELECT content FROM read_text('/etc/passwd')"},
	{"read_csv", "SELECT CAST(column0 AS TEXT) FROM read_csv('/etc/passwd', header = false)"},
	{"glob", "SELECT file FROM glob('/etc/*')"},
	{"copy_to", "SELECT 1 FROM (COPY (SELECT 1) TO '/tmp/weft-probe.csv') c"},
	{"attach", "SELECT 1 FROM (ATTACH '/tmp/weft-probe.db' AS probe) a"},
	{"install", "SELECT 1 FROM (INSTALL httpfs) i"},
	{"pg_read_file", "SELECT pg_read_file('/etc/passwd')"},
	{"set_config", "SELECT set_config('default_transaction_read_only', 'on', false)"},
	{"setval", "SELECT setval('customer_events_seq', 3)"},
	{"drop", "SELECT 1; DROP TABLE event_log"},
	{"delete_cte", "WITH d AS (DELETE FROM event_log RETURNING 1) SELECT count(*) FROM d"},
	{"query", "SELECT * FROM query('SELECT 1')"},
}

// places put a probe where the config takes SQL, as a weft.yaml
// fragment added to the worked example's.
var sqlPlaces = []struct {
	name  string
	field string // the field the refusal names
	yaml  func(q string) string
}{
	{"stitching", "stitching", func(q string) string {
		return strings.Replace(worked.Config, "attributes:", "    - {identifier: stitching_email, event: crm/customer_update, value_expression: "+quoteYAML("("+q+")")+"}\nattributes:", 1)
	}},
	{"attribute value", "attributes[probe]", func(q string) string {
		return worked.Config + "  - {id: probe, type: list, value: " + quoteYAML("("+q+")") + "}\n"
	}},
	{"attribute filter", "attributes[probe]", func(q string) string {
		return worked.Config + "  - {id: probe, type: list, value: \"payload->>'email'\", filter: " + quoteYAML("("+q+") IS NOT NULL") + "}\n"
	}},
	{"custom query", "attributes[probe]", func(q string) string {
		return worked.Config + "  - {id: probe, type: custom, query: " + quoteYAML("SELECT v AS value FROM ("+q+") p(v)") + "}\n"
	}},
	{"context query", "context[probe]", func(q string) string {
		return worked.Config + "context:\n  - {key: probe, query: " + quoteYAML(q) + "}\n"
	}},
}

func quoteYAML(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestConfigSQLProbesRefusedAtApply applies every probe in every place
// where the config takes SQL, on both backends: each is refused with an
// error naming the place, nothing changes, and the store still ingests,
// stitches and calculates.
func TestConfigSQLProbesRefusedAtApply(t *testing.T) {
	for _, b := range dbtest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			p, db := newPipeline(t, b)
			before, _, err := p.Config(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, place := range sqlPlaces {
				for _, probe := range sqlProbes {
					_, err := p.Apply(ctx, []byte(place.yaml(probe.query)))
					var cfgErr *config.Error
					if !errors.As(err, &cfgErr) {
						t.Errorf("%s %s: applied (err %v), want a config error", place.name, probe.name, err)
						continue
					}
					if !strings.Contains(err.Error(), place.field) {
						t.Errorf("%s %s: %v does not name %s", place.name, probe.name, err, place.field)
					}
				}
			}
			after, _, err := p.Config(ctx)
			if err != nil || after.Version != before.Version {
				t.Fatalf("config version %d after refused applies, want %d (%v)", after.Version, before.Version, err)
			}
			stillWorks(t, p, db)
		})
	}
}

// TestConfigSQLRefusalsArePrecise checks the messages of the apply-time
// check for the probes that it refuses by name.
func TestConfigSQLRefusalsArePrecise(t *testing.T) {
	p, _ := newPipeline(t, "duckdb")
	for probe, want := range map[string]string{
		"read_text": "read_text() is not allowed", "glob": "glob() is not allowed", "copy_to": "COPY is not allowed",
		"attach": "ATTACH is not allowed", "install": "INSTALL is not allowed", "pg_read_file": "pg_read_file() is not allowed",
		"set_config": "set_config() is not allowed", "setval": "setval() is not allowed",
		"delete_cte": "DELETE is not allowed", "query": "query() is not allowed",
	} {
		var q string
		for _, pr := range sqlProbes {
			if pr.name == probe {
				q = pr.query
			}
		}
		_, err := p.Apply(context.Background(), []byte(sqlPlaces[4].yaml(q)))
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, store.ErrConfigSQL) {
			t.Errorf("%s: %v, want %q", probe, err, want)
		}
	}
}

// TestConfigSQLConfinedWhenRun runs the probes past the apply-time check
// (engines built directly, as from a config stored before the check):
// the engine itself refuses each or lets it see nothing, and the store
// still ingests, stitches and calculates afterwards, on both backends.
func TestConfigSQLConfinedWhenRun(t *testing.T) {
	for _, b := range dbtest.Backends {
		t.Run(b, func(t *testing.T) {
			ctx := context.Background()
			p, db := newPipeline(t, b)
			if _, err := p.Stitch(ctx, false); err != nil {
				t.Fatal(err)
			}
			var contexts []attr.Context
			for i, probe := range sqlProbes {
				if probe.name == "drop" {
					continue // ';' is refused by attr.New itself
				}
				contexts = append(contexts, attr.Context{Key: fmt.Sprintf("probe_%d", i), Query: probe.query})
			}
			contexts = append(contexts,
				attr.Context{Key: "probe_kv", Query: "SELECT value FROM kv_records"},
				attr.Context{Key: "probe_keys", Query: "SELECT key FROM plugin_keys"})
			defs := []attr.Definition{
				{ID: "probe_value", Type: attr.TypeList, Value: "(SELECT content FROM read_text('/etc/passwd'))"},
				{ID: "probe_custom", Type: attr.TypeCustom, Query: "SELECT pg_read_file('/etc/passwd') AS value FROM base"},
				{ID: "probe_setval", Type: attr.TypeList, Value: "setval('customer_events_seq', 3)"},
			}
			eng, err := attr.New(db, defs, contexts, &attr.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Run(ctx, attr.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// What may answer: the salt of plugin_keys and the ciphertext of
			// kv_records (no plain value: see plugin.TestSigningKeyNotInDatabase),
			// set_config in a transaction rolled back (stillWorks checks the
			// session), and DuckDB's query(), which runs one SELECT, confined.
			answers := map[string]bool{"probe_keys": true, "probe_kv": true}
			for i, probe := range sqlProbes {
				if probe.name == "set_config" || probe.name == "query" {
					answers[fmt.Sprintf("probe_%d", i)] = true
				}
			}
			for _, c := range res.Contexts {
				if strings.Contains(c.Value, "root:") {
					t.Errorf("context %s read a server file: %q", c.Key, c.Value)
				}
				if c.Error == "" && c.Value != "" && !answers[c.Key] {
					t.Errorf("context %s answered %q without an error", c.Key, c.Value)
				}
			}
			for _, a := range res.Attributes {
				if a.Status != "error" {
					t.Errorf("attribute %s: status %s, want error", a.ID, a.Status)
				}
			}
			// A stitching rule reading a file fails the pass, writing nothing.
			parsed, err := config.Parse([]byte(worked.Config))
			if err != nil {
				t.Fatal(err)
			}
			sc := parsed.EffectiveStitching()
			sc.Rules = append(sc.Rules, stitch.Rule{Identifier: "stitching_email", Event: "crm/customer_update",
				ValueExpression: "(SELECT content FROM read_text('/etc/passwd'))"})
			se, err := stitch.New(db, sc, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := &event.Writer{In: event.NewIngester(db, nil)}
			rec := `{"id":"probe-1","source_id":"crm","type":"customer_update","version":"1","event_time":"2026-01-01T00:00:00Z","payload":{"email":"probe@example.com"}}`
			if rej, err := w.Append(ctx, []json.RawMessage{json.RawMessage(rec)}); err != nil || len(rej) > 0 {
				t.Fatalf("ingest: %v %+v", err, rej)
			}
			if _, err := se.Run(ctx, 0); err == nil {
				t.Error("a stitching rule reading /etc/passwd ran")
			}
			stillWorks(t, p, db)
		})
	}
}

// stillWorks ingests an event on every connection of the pool and checks
// that stitching and attributes still run on the configuration in force.
func stillWorks(t *testing.T, p *Pipeline, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	w := &event.Writer{In: event.NewIngester(db, nil)}
	for i := range 20 {
		rec := fmt.Sprintf(`{"id":"after-%d","source_id":"crm","type":"customer_update","version":"1","event_time":"2026-01-01T00:00:00Z","payload":{"email":"after%d@example.com"}}`, i, i)
		if rej, err := w.Append(ctx, []json.RawMessage{json.RawMessage(rec)}); err != nil || len(rej) > 0 {
			t.Fatalf("ingest after the probes: %v %+v", err, rej)
		}
	}
	if _, err := p.Stitch(ctx, false); err != nil {
		t.Fatalf("stitch after the probes: %v", err)
	}
	res, err := p.Attributes(ctx, attr.RunOptions{})
	if err != nil {
		t.Fatalf("attributes after the probes: %v", err)
	}
	for _, a := range res.Attributes {
		if a.Status != "ok" {
			t.Errorf("attribute %s after the probes: %s", a.ID, a.Error)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM customer_events WHERE id LIKE 'after-%' AND customer_entity_id IS NOT NULL").Scan(&n); err != nil || n != 20 {
		t.Fatalf("stitched events after the probes: %d (%v), want 20", n, err)
	}
}
