package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMeiroCommands drives weft attributes refresh-context and
// refresh-caches, weft apply --forward-only and the refusal of duplicate
// stitching rules as a user would, against weft serve on both backends.
func TestMeiroCommands(t *testing.T) {
	const rules = `stitching:
  rules:
    - {identifier: email, event: web/signup, value_expression: "payload->>'email'"}
`
	const rest = `attributes:
  - {id: email_last, type: last, value: "payload->>'email'"}
context:
  - {key: n_events, query: "SELECT count(*) FROM customer_events"}
`
	const visit = "    - {identifier: email, event: web/visit, value_expression: \"payload->>'email'\"}\n"
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			addr := freeAddr(t)
			base := "http://" + addr
			srv := start(t, append(serveArgs(t, backend, addr), "--stitch-interval", "-1s")...)
			waitHealthy(t, base, srv)
			run := func(want int, args ...string) string {
				t.Helper()
				p := start(t, append(args, "--server", base)...)
				if code := p.wait(t, 60*time.Second); code != want {
					t.Fatalf("weft %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, p.stdout, p.stderr)
				}
				return p.stdout.String() + p.stderr.String()
			}
			run(0, "apply", "-f", write("v1.yaml", rules+rest))
			var lines []string
			for i, e := range []string{"a@x.io", "b@x.io", "a@x.io"} {
				lines = append(lines, fmt.Sprintf(`{"id":"s%d","source_id":"web","type":"signup","version":"1","event_time":"2026-01-01T00:00:0%dZ","payload":{"email":%q}}`, i, i, e))
			}
			run(0, "ingest", write("events.ndjson", strings.Join(lines, "\n")+"\n"))
			run(0, "stitch")
			run(0, "attributes", "calculate")

			if out := run(0, "attributes", "refresh-context"); !strings.Contains(out, "Refreshed 1 context queries in ") ||
				!strings.Contains(out, "; 0 failed.") || !strings.Contains(out, "  n_events = 3\n") {
				t.Fatalf("refresh-context: %s", out)
			}
			if out := run(0, "attributes", "refresh-caches"); !strings.Contains(out, "Recounted the caches of 1 attributes in ") ||
				!strings.Contains(out, "  email_last: 2 customers, 2 values\n") {
				t.Fatalf("refresh-caches: %s", out)
			}
			if out := run(0, "apply", "--forward-only", "-f", write("v2.yaml", rules+visit+rest)); !strings.Contains(out, "config version 2") ||
				!strings.Contains(out, "they apply to the events stitched from now on; earlier events are not linked again") {
				t.Fatalf("apply --forward-only: %s", out)
			}
			if out := run(0, "stitch"); !strings.Contains(out, "incrementally") {
				t.Fatalf("the pass after a forward-only apply: %s", out)
			}
			if out := run(0, "apply", "-f", write("v3.yaml", rules+rest)); !strings.Contains(out, "rebuilt from the whole log") {
				t.Fatalf("apply (rebuild): %s", out)
			}
			if out := run(1, "apply", "--forward-only", "-f", write("dup.yaml", rules+visit+visit+rest)); !strings.Contains(out,
				"stitching.rules[1] (email from web/visit): stitching.rules[2] (email from web/visit) also reads identifier email from event web/visit") {
				t.Fatalf("apply of duplicate rules: %s", out)
			}
			if out := run(1, "attributes", "refresh-context", "--bogus"); !strings.Contains(out, "unknown flag: --bogus") {
				t.Fatalf("refresh-context --bogus: %s", out)
			}
		})
	}
}
