package cli_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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

// weft bench attributes --runs N with --data runs N times on copies of
// the store made beside it, removes them, leaves the store as it was, and
// prints the median, min and max of each figure; --runs 0 is refused.
func TestBenchRunsOnCopies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	main := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := cli.Main(append(args, "--data", dir), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d:\n%s%s", args, code, out.String(), errOut.String())
		}
		return out.String()
	}
	main("bench", "stitch", "--events", "3000", "--customers", "300", "--load-only")
	before := storeFiles(t, dir)
	out := main("bench", "attributes", "--events", "3000", "--customers", "300", "--dirty", "200", "--compared", "-1", "--baseline", "sql", "--runs", "3")
	for _, want := range []string{"run 1 of 3", "run 2 of 3", "run 3 of 3", "median of 3 runs (min, max; each run's value):",
		"full calculation ", "incremental run ", "peak RSS ", "SQL baseline ", "full calculation vs baseline ", "incremental run vs baseline "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// Every run found the loaded events in its copy (none loaded or
	// stitched them again into the store itself).
	if n := strings.Count(out, "loaded in"); n != 0 {
		t.Errorf("%d runs loaded events; the copies held them:\n%s", n, out)
	}
	if n := strings.Count(out, "stitched in"); n != 3 {
		t.Errorf("%d runs of 3 stitched their copy:\n%s", n, out)
	}
	line := regexp.MustCompile(`full calculation +(\d+\.\d{3}) s \(min (\d+\.\d{3}) s, max (\d+\.\d{3}) s; (\S+ s), (\S+ s), (\S+ s)\)`).FindStringSubmatch(out)
	if line == nil {
		t.Fatalf("no full calculation figure in:\n%s", out)
	}
	med, lo, hi := seconds(t, line[1]), seconds(t, line[2]), seconds(t, line[3])
	if !(lo <= med && med <= hi) {
		t.Errorf("median %s not between min %s and max %s", line[1], line[2], line[3])
	}
	if after := storeFiles(t, dir); !slices.Equal(before, after) {
		t.Errorf("the store changed: files %v, then %v", before, after)
	}
	if left, _ := filepath.Glob(dir + ".run-*"); len(left) != 0 {
		t.Errorf("copies left behind: %v", left)
	}
	var o, e bytes.Buffer
	if code := cli.Main([]string{"bench", "attributes", "--runs", "0", "--data", dir}, &o, &e); code != 2 {
		t.Errorf("--runs 0: exit %d, want 2", code)
	}
	if code := cli.Main([]string{"bench", "stitch", "--runs", "2", "--load-only", "--data", dir}, &o, &e); code != 2 {
		t.Errorf("--runs 2 --load-only: exit %d, want 2", code)
	}
}

// seconds reads a figure printed as seconds.
func seconds(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// storeFiles lists the files of a data directory with their sizes and
// times, to tell whether a run wrote to it.
func storeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, fmt.Sprintf("%s %d %s", path, info.Size(), info.ModTime()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
