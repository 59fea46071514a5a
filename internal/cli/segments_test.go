package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const segmentsCLIYAML = `stitching:
  rules:
    - {identifier: email, event: web/purchase, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
segments:
  - {id: big_spenders, name: Big spenders, condition: {attribute: spend, op: ">=", value: 100}}
  - {id: buyers, condition: {attribute: spend, op: ">", value: 0}}
  - {id: fresh, condition: {attribute: spend, op: "<", value: 1}}
`

// TestSegmentsCommands: weft segments list, show and members against a
// running server whose memberships and runs the test writes as the
// segments job would.
func TestSegmentsCommands(t *testing.T) {
	t.Setenv("WEFT_API_KEY", "")
	t.Setenv("WEFT_API_KEYS", "")
	s := startServer(t)
	dir := t.TempDir()
	cfg, events := filepath.Join(dir, "weft.yaml"), filepath.Join(dir, "events.ndjson")
	var lines []string
	for i, total := range []int{150, 20, 300, 5} {
		lines = append(lines, fmt.Sprintf(`{"id":"e%d","source_id":"web","type":"purchase","version":"1","event_time":"2026-01-02T10:0%d:00Z","payload":{"email":"p%d@example.com","total":%d}}`, i, i, i+1, total))
	}
	if err := os.WriteFile(cfg, []byte(segmentsCLIYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"apply", "-f", cfg}, {"ingest", events}, {"stitch"}, {"attributes", "calculate"}} {
		if out, code := weft(t, s, args...); code != 0 {
			t.Fatalf("weft %s: exit %d:\n%s", strings.Join(args, " "), code, out)
		}
	}
	ctx := context.Background()
	ids := map[string]string{}
	for i := 1; i <= 4; i++ {
		id, err := s.Store.EntityFind(ctx, "email", fmt.Sprintf("p%d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		ids[fmt.Sprintf("p%d", i)] = id
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, m := range [][2]string{{"big_spenders", "p1"}, {"big_spenders", "p3"}, {"buyers", "p1"}, {"buyers", "p2"}, {"buyers", "p3"}, {"buyers", "p4"}} {
		if _, err := s.Store.ExecContext(ctx, `INSERT INTO segment_members VALUES ($1, $2, $3)`, m[0], ids[m[1]], at); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO segment_runs VALUES ('big_spenders', 'run-1', true, 2, 2, 0, 'ok', NULL, 40, TIMESTAMPTZ '2026-03-01 10:00:00+00')`,
		`INSERT INTO segment_runs VALUES ('big_spenders', 'run-2', false, 2, 0, 0, 'error', 'boom', 7, TIMESTAMPTZ '2026-03-01 11:00:00+00')`,
		`INSERT INTO segment_runs VALUES ('buyers', 'run-1', true, 4, 4, 0, 'ok', NULL, 40, TIMESTAMPTZ '2026-03-01 10:00:00+00')`,
	} {
		if _, err := s.Store.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	out, code := weft(t, s, "segments", "list")
	for _, want := range []string{"ID", "SIZE", "big_spenders", "Big spenders", "error: boom", "incremental, +0 -0, 7ms", "buyers", "fresh", "pending", "never"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("segments list: exit %d, no %q:\n%s", code, want, out)
		}
	}
	stdout, _, code := weftSplit(t, s, "segments", "list", "--json")
	var list []struct {
		ID   string `json:"id"`
		Size int64  `json:"size"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil || len(list) != 3 || list[1].ID != "buyers" || list[1].Size != 4 {
		t.Errorf("segments list --json: exit %d, %v:\n%s", code, err, stdout)
	}

	out, code = weft(t, s, "segments", "show", "big_spenders")
	if code != 0 || !strings.Contains(out, "Segment big_spenders: Big spenders") || !strings.Contains(out, "history:   2 runs") ||
		strings.Index(out, "run-2") > strings.Index(out, "run-1 ") || !strings.Contains(out, `"attribute":"spend"`) {
		t.Errorf("segments show: exit %d:\n%s", code, out)
	}
	if out, code := weft(t, s, "segments", "show", "nope"); code == 0 || !strings.Contains(out, "404") || !strings.Contains(out, `no segment "nope"`) {
		t.Errorf("segments show nope: exit %d:\n%s", code, out)
	}

	// Three of four: the last line says where the rest starts; from
	// there, the fourth; --limit 0 reads them all.
	out, code = weft(t, s, "segments", "members", "buyers", "--attributes", "spend", "--limit", "3")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(rows) != 5 || !strings.HasPrefix(rows[0], "ENTITY") || !strings.Contains(rows[0], "spend") ||
		!strings.HasPrefix(rows[4], "More follow: --after ") {
		t.Fatalf("segments members --limit 3: exit %d:\n%s", code, out)
	}
	after := strings.TrimPrefix(rows[4], "More follow: --after ")
	stdout, _, code = weftSplit(t, s, "segments", "members", "buyers", "--after", after, "--json", "--attributes", "spend")
	var page struct {
		Members []struct {
			EntityID   string         `json:"entity_id"`
			Attributes map[string]any `json:"attributes"`
		} `json:"members"`
		Next string `json:"next"`
	}
	if err := json.Unmarshal([]byte(stdout), &page); code != 0 || err != nil || len(page.Members) != 1 || page.Next != "" || page.Members[0].EntityID <= after {
		t.Errorf("segments members --after: exit %d, %v:\n%s", code, err, stdout)
	}
	out, code = weft(t, s, "segments", "members", "buyers", "--limit", "0")
	if code != 0 || strings.Count(out, "\n") != 5 || strings.Contains(out, "More follow") {
		t.Errorf("segments members --limit 0: exit %d:\n%s", code, out)
	}
	if out, code := weft(t, s, "segments", "members", "buyers", "--attributes", "nope"); code == 0 || !strings.Contains(out, `unknown attribute \"nope\"`) && !strings.Contains(out, `unknown attribute "nope"`) {
		t.Errorf("an unknown attribute: exit %d:\n%s", code, out)
	}

	out, code = weft(t, s, "profiles", "get", "email:p1@example.com")
	if code != 0 || !strings.Contains(out, "segments:    big_spenders, buyers") {
		t.Errorf("profiles get: exit %d:\n%s", code, out)
	}
}
