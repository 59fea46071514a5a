package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/identitygraph"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const graphCLIYAML = `stitching:
  rules:
    - {identifier: cookie, event: web/form_submit, value_expression: "payload->>'cookie'"}
    - {identifier: email, event: web/form_submit, value_expression: "lower(payload->>'email')"}
  identifiers:
    email: {max_per_entity: 1}
`

// TestProfilesGraphCommand: weft profiles graph against a running server
// on each backend: the graph as text and JSON, a chain, and bad input.
func TestProfilesGraphCommand(t *testing.T) {
	t.Setenv("WEFT_API_KEY", "")
	t.Setenv("WEFT_API_KEYS", "")
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			cfg := server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), StitchInterval: -1,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if backend == "postgres" {
				cfg.DB = pgtest.URL(t)
			}
			s, err := server.Start(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown() })
			dir := t.TempDir()
			yaml, events := filepath.Join(dir, "weft.yaml"), filepath.Join(dir, "events.ndjson")
			lines := []string{
				`{"id":"e1","source_id":"web","type":"form_submit","version":"1","event_time":"2026-01-02T10:01:00Z","payload":{"cookie":"c1","email":"ann@example.org"}}`,
				`{"id":"e2","source_id":"web","type":"form_submit","version":"1","event_time":"2026-01-02T10:02:00Z","payload":{"cookie":"c2","email":"ann@example.org"}}`,
				`{"id":"e3","source_id":"web","type":"form_submit","version":"1","event_time":"2026-01-02T10:03:00Z","payload":{"cookie":"c4","email":"bob@example.org"}}`,
				// c4 carries two emails (one is allowed): it is ambiguous.
				`{"id":"e4","source_id":"web","type":"form_submit","version":"1","event_time":"2026-01-02T10:04:00Z","payload":{"cookie":"c4","email":"cat@example.org"}}`,
			}
			if err := os.WriteFile(yaml, []byte(graphCLIYAML), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"apply", "-f", yaml}, {"ingest", events}, {"stitch"}} {
				if out, code := weft(t, s, args...); code != 0 {
					t.Fatalf("weft %s: exit %d:\n%s", strings.Join(args, " "), code, out)
				}
			}
			ann, err := s.Store.EntityFind(context.Background(), "email", "ann@example.org")
			if err != nil {
				t.Fatal(err)
			}
			bob, err := s.Store.EntityFind(context.Background(), "email", "bob@example.org")
			if err != nil {
				t.Fatal(err)
			}

			out, code := weft(t, s, "profiles", "graph", ann)
			if code != 0 {
				t.Fatalf("graph: exit %d:\n%s", code, out)
			}
			for _, want := range []string{"Identity graph of entity " + ann + ": 3 identifiers, 3 links, 0 refused; built from 2 of 2 events",
				"email:ann@example.org  2", "cookie:c2", "#0 web/form_submit", "e1 (form_submit, seq 1, 2026-01-02T10:01:00Z)"} {
				if !strings.Contains(out, want) {
					t.Errorf("graph lacks %q:\n%s", want, out)
				}
			}
			out, _ = weft(t, s, "profiles", "graph", bob)
			if !strings.Contains(out, "cookie:c4  ambiguous  e3 (form_submit, seq 3") {
				t.Errorf("bob's refused cookie:\n%s", out)
			}
			out, code = weft(t, s, "profiles", "graph", ann, "--json")
			var g identitygraph.Graph
			if err := json.Unmarshal([]byte(out), &g); code != 0 || err != nil || len(g.Identifiers) != 3 || len(g.Links) != 3 {
				t.Errorf("--json: exit %d, %v:\n%s", code, err, out)
			}

			out, code = weft(t, s, "profiles", "graph", ann, "--from", "cookie:c1", "--to", "cookie:c2")
			want := "cookie:c1 and cookie:c2 belong to entity " + ann + " through 2 events:\n  cookie:c1\n" +
				"    event e1 (form_submit, seq 1, 2026-01-02T10:01:00Z) carries both\n  email:ann@example.org\n" +
				"    event e2 (form_submit, seq 2, 2026-01-02T10:02:00Z) carries both\n  cookie:c2\n"
			if code != 0 || out != want {
				t.Errorf("chain: exit %d:\n%s\nwant:\n%s", code, out, want)
			}
			out, code = weft(t, s, "profiles", "graph", ann, "--from", "cookie:c1", "--to", "cookie:c2", "--json")
			var p identitygraph.Path
			if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil || len(p.Steps) != 5 {
				t.Errorf("chain --json: exit %d, %v:\n%s", code, err, out)
			}

			// weft profiles get of an id that split prints its parts. The
			// engine of this step cannot split yet: the test writes the row.
			gone := strings.Repeat("a", 32)
			if _, err := s.Store.ExecContext(context.Background(), `INSERT INTO stitch_splits (entity_id, parts, split_at) VALUES ($1, $2, CURRENT_TIMESTAMP)`,
				gone, `["`+ann+`","`+bob+`"]`); err != nil {
				t.Fatal(err)
			}
			out, code = weft(t, s, "profiles", "get", gone)
			if code != 0 || !strings.Contains(out, "Entity "+gone+" split into "+ann+", "+bob+"; the profiles of its parts now:") ||
				!strings.Contains(out, "Entity "+ann+"\n") || !strings.Contains(out, "Entity "+bob+"\n") || !strings.Contains(out, "email: ann@example.org") {
				t.Errorf("profiles get of a split id: exit %d:\n%s", code, out)
			}
			out, code = weft(t, s, "profiles", "get", gone, "--json")
			var split struct {
				ID        string            `json:"id"`
				SplitInto []string          `json:"split_into"`
				Parts     []json.RawMessage `json:"parts"`
			}
			if err := json.Unmarshal([]byte(out), &split); code != 0 || err != nil || split.ID != gone || len(split.SplitInto) != 2 || len(split.Parts) != 2 {
				t.Errorf("profiles get --json of a split id: exit %d, %v:\n%s", code, err, out)
			}

			for _, c := range []struct {
				args []string
				msg  string
			}{
				{[]string{"nope"}, `no entity "nope"`},
				{[]string{ann, "--from", "cookie:c1"}, "--from and --to go together"},
				{[]string{ann, "--from", "c1", "--to", "cookie:c2"}, `from "c1" must be an identifier category:value`},
				{[]string{ann, "--from", "cookie:c1", "--to", "email:bob@example.org"}, "identifier email:bob@example.org is not in entity " + ann},
			} {
				out, code := weft(t, s, append([]string{"profiles", "graph"}, c.args...)...)
				if code == 0 || !strings.Contains(out, c.msg) {
					t.Errorf("graph %v: exit %d, want an error with %q:\n%s", c.args, code, c.msg, out)
				}
			}
		})
	}
}
