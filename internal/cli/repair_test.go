package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepairCommands: weft profiles split|merge, weft identifiers block and
// weft identity constraints list|remove against a real server, bad
// requests included.
func TestRepairCommands(t *testing.T) {
	t.Setenv("WEFT_API_KEY", "")
	t.Setenv("WEFT_API_KEYS", "")
	s := startServer(t, "boot")
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := write("weft.yaml", `stitching:
  rules:
    - identifier: email
      event: web/form_submit
      value_expression: payload->>'email'
    - identifier: cookie
      event: web/form_submit
      value_expression: payload->>'cookie'
`)
	var lines []string
	for i, f := range []string{`"cookie":"c1","email":"ann@x.io"`, `"cookie":"c2","email":"ann@x.io"`, `"cookie":"c3","email":"bob@x.io"`,
		`"cookie":"c6","email":"home@x.io"`, `"cookie":"c7","email":"home@x.io"`} {
		lines = append(lines, `{"id":"e`+string(rune('1'+i))+`","source_id":"web","type":"form_submit","version":"1-0-0","event_time":1767323045000,"payload":{`+f+`}}`)
	}
	events := write("events.ndjson", strings.Join(lines, "\n"))

	ops, _, code := weftSplit(t, s, "keys", "create", "ops", "--scope", "admin", "--api-key", "boot")
	ops = strings.TrimSpace(ops)
	if code != 0 {
		t.Fatalf("keys create: exit %d", code)
	}
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, code := weft(t, s, append(args, "--api-key", ops)...)
		if (code == 0) != (wantCode == 0) {
			t.Fatalf("weft %s: exit %d, want %d:\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return out
	}
	run(0, "apply", "-f", cfg)
	run(0, "ingest", events)
	run(0, "stitch")
	id := func(ident string) string {
		t.Helper()
		var p struct {
			Entity struct{ ID string } `json:"entity"`
		}
		out, _, code := weftSplit(t, s, "profiles", "get", ident, "--json", "--events", "0", "--api-key", ops)
		if err := json.Unmarshal([]byte(out), &p); code != 0 || err != nil || p.Entity.ID == "" {
			t.Fatalf("profiles get %s: exit %d, %v: %s", ident, code, err, out)
		}
		return p.Entity.ID
	}
	ann, bob := id("cookie:c1"), id("cookie:c3")

	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"profiles", "split", ann, "--identifier", "cookie:c9"}, []string{"422", "does not hold identifier cookie:c9"}},
		{[]string{"profiles", "split", ann}, []string{"400", "identifiers is empty"}},
		{[]string{"profiles", "split", "nope", "--identifier", "cookie:c1"}, []string{"404", `no entity "nope"`}},
		{[]string{"profiles", "merge", ann, ann}, []string{"400", "merging an entity with itself"}},
		{[]string{"profiles", "merge", ann}, []string{"requires at least 2 arg(s)"}},
		{[]string{"identifiers", "block", "phone:1"}, []string{"400", `unknown category "phone"`}},
		{[]string{"identifiers", "block", "home@x.io"}, []string{`"home@x.io" must be CATEGORY:VALUE`}},
		{[]string{"identity", "constraints", "remove", "nope"}, []string{"404", "no identity constraint"}},
	} {
		out := run(1, c.args...)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("weft %s: no %q in:\n%s", strings.Join(c.args, " "), w, out)
			}
		}
	}

	out := run(0, "profiles", "split", ann, "--identifier", "cookie:c2")
	if !strings.Contains(out, "Split entity "+ann+": constraint ") || !strings.Contains(out, "keeps cookie:c2 apart") || !strings.Contains(out, "Re-clustered:") {
		t.Errorf("profiles split:\n%s", out)
	}
	if out := run(0, "profiles", "merge", ann, bob); !strings.Contains(out, "Merged into ") {
		t.Errorf("profiles merge:\n%s", out)
	}
	if out := run(0, "identifiers", "block", "email:home@x.io"); !strings.Contains(out, "Blocked by constraint ") || !strings.Contains(out, "1 entities held it") {
		t.Errorf("identifiers block:\n%s", out)
	}
	if out := run(1, "identifiers", "block", "email:home@x.io"); !strings.Contains(out, "409") || !strings.Contains(out, "blocked already") {
		t.Errorf("second block:\n%s", out)
	}

	out = run(0, "identity", "constraints", "list")
	if !strings.Contains(out, "ID") || !strings.Contains(out, "KIND") || strings.Count(out, " ops ") != 3 {
		t.Errorf("constraints list:\n%s", out)
	}
	stdout, _, code := weftSplit(t, s, "identity", "constraints", "list", "--json", "--api-key", ops)
	var list []struct{ ID, Kind, CreatedBy string }
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil || len(list) != 3 || list[0].Kind != "block" || list[2].Kind != "split" {
		t.Fatalf("constraints list --json: exit %d, %v:\n%s", code, err, stdout)
	}
	if out := run(0, "identity", "constraints", "remove", list[2].ID); !strings.Contains(out, "Removed split constraint "+list[2].ID+" (added by ops)") {
		t.Errorf("constraints remove:\n%s", out)
	}
	run(1, "identity", "constraints", "remove", list[2].ID)

	out = run(0, "audit", "--action", "entities.split")
	if !strings.Contains(out, "ops") || !strings.Contains(out, "422") || !strings.Contains(out, "split entity "+ann) {
		t.Errorf("audit of the splits:\n%s", out)
	}
}
