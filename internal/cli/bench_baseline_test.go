package cli_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/cli"
)

// The SQL baselines of weft bench stitch and attributes run in the store
// opened again with their own memory_limit (--baseline-memory-limit), not
// in Weft's bounded engine: Weft's runs keep the store's limit, the
// baseline reports the one it ran under. Without the flag the baseline has
// DuckDB's own default, larger than Weft's 1100MB on any machine that runs
// these tests.
func TestBenchBaselineMemoryLimit(t *testing.T) {
	limit := regexp.MustCompile(`DuckDB memory_limit (\S+ \S+)`)
	for _, c := range []struct {
		name string
		args []string
		want string // the limit the baseline reports; "" any but Weft's
	}{
		{"attributes", []string{"bench", "attributes", "--events", "4000", "--customers", "400", "--dirty", "-1", "--compared", "-1", "--baseline", "sql", "--baseline-memory-limit", "700MB"}, "667.5 MiB"},
		{"stitch", []string{"bench", "stitch", "--events", "4000", "--customers", "400", "--incremental", "-1", "--split-pass", "-1", "--baseline", "sql", "--baseline-memory-limit", "700MB"}, "667.5 MiB"},
		{"attributes default", []string{"bench", "attributes", "--events", "4000", "--customers", "400", "--dirty", "-1", "--compared", "-1", "--baseline", "sql"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append(c.args, "--data", t.TempDir())
			if code := cli.Main(args, &out, &errOut); code != 0 {
				t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
			}
			m := limit.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no baseline memory_limit in:\n%s", out.String())
			}
			switch {
			case c.want != "" && m[1] != c.want:
				t.Errorf("baseline ran under memory_limit %s, want %s", m[1], c.want)
			case c.want == "" && (m[1] == "1.0 GiB" || strings.HasPrefix(m[1], "1049")):
				t.Errorf("baseline ran under Weft's own memory_limit %s, want DuckDB's default", m[1])
			}
			if !strings.Contains(out.String(), "as fast as the baseline") {
				t.Errorf("no ratio in:\n%s", out.String())
			}
		})
	}
}
