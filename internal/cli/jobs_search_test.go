package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/job"
)

// lines is a job registered for these tests: one Perform logs
// params.n numbered lines.
type lines struct{ inv *job.Invocation }

type linesParams struct {
	N int `json:"n"`
}

func init() {
	job.Register(job.Typed[linesParams, struct{}]("cli_test_lines", "logs numbered lines", func() *lines { return new(lines) }))
}

func (l *lines) Prepare(_ context.Context, inv *job.Invocation, p linesParams, _ *struct{}, _ bool) (bool, error) {
	l.inv = inv
	for i := 1; i <= p.N; i++ {
		inv.Log.Info(fmt.Sprintf("line %d", i), "even", i%2 == 0)
	}
	return true, nil
}

func (l *lines) Perform(context.Context, *struct{}) (bool, error) { return true, nil }

// TestJobsListAndLogsFilters: weft jobs list --since/--until and weft
// jobs logs --grep/--since/--until, with durations back from now (7d,
// 1h) and RFC 3339 times, and precise errors for bad ones.
func TestJobsListAndLogsFilters(t *testing.T) {
	s := startServer(t)
	out, code := weft(t, s, "jobs", "trigger", "cli_test_lines", "--param", "n=4", "--wait")
	if code != 0 {
		t.Fatalf("trigger: exit %d: %s", code, out)
	}
	id := strings.Fields(out)[0]
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, st := range []struct {
		args []string
		code int
		want []string // lines of the output that hold these parts, in order; nil: no output
	}{
		{[]string{"logs", id}, 0, []string{"line 1", "line 2 even=true", "line 3", "line 4"}},
		{[]string{"logs", id, "--grep", "line [13]"}, 0, []string{"INFO  line 1 even=false", "INFO  line 3 even=false"}},
		{[]string{"logs", id, "--grep", `"even":true`}, 0, []string{"line 2", "line 4"}},
		{[]string{"logs", id, "--grep", "(?i)LINE 4", "--since", "1h"}, 0, []string{"line 4"}},
		{[]string{"logs", id, "--since", "1d12h", "--until", future}, 0, []string{"line 1", "line 2", "line 3", "line 4"}},
		{[]string{"logs", id, "--until", "1h"}, 0, nil},
		{[]string{"logs", id, "--since", future}, 0, nil},
		{[]string{"logs", id, "--grep", "nothing"}, 0, nil},
		{[]string{"list", "--job", "cli_test_lines", "--since", "7d"}, 0, []string{"ID", id + "  cli_test_lines  COMPLETE"}},
		{[]string{"list", "--job", "cli_test_lines", "--since", "2w", "--until", future, "--status", "complete"}, 0, []string{"ID", id}},
		{[]string{"list", "--job", "cli_test_lines", "--until", "7d"}, 0, []string{"ID"}},

		{[]string{"logs", id, "--grep", "("}, 1, []string{`grep "(" is not a regular expression: error parsing regexp: missing closing )`}},
		{[]string{"logs", id, "--since", "yesterday"}, 2, []string{`--since "yesterday": want a duration back from now (90m, 24h, 7d, 2w) or an RFC 3339 time (2026-01-02T15:04:05Z)`}},
		{[]string{"logs", id, "--until", "-2h"}, 2, []string{`--until "-2h": give a positive duration back from now`}},
		{[]string{"list", "--since", "1h", "--until", "2h"}, 2, []string{") must be before --until ("}},
		{[]string{"list", "--since", "99999999w"}, 2, []string{`--since "99999999w": more than 100 years back`}},
		{[]string{"list", "--since", "2026-13-01T00:00:00Z"}, 2, []string{`--since "2026-13-01T00:00:00Z": want a duration`}},
	} {
		args := append([]string{"jobs"}, st.args...)
		out, code := weft(t, s, args...)
		name := "weft " + strings.Join(args, " ")
		if code != st.code {
			t.Errorf("%s: exit %d, want %d:\n%s", name, code, st.code, out)
			continue
		}
		got := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if out == "" {
			got = nil
		}
		if len(got) != len(st.want) {
			t.Errorf("%s: %d lines, want %d:\n%s", name, len(got), len(st.want), out)
			continue
		}
		for i, want := range st.want {
			if !strings.Contains(got[i], want) {
				t.Errorf("%s: line %d is %q, want it to hold %q", name, i+1, got[i], want)
			}
		}
	}
}
