package cli_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/cli"
)

// weft bench ingest --runs N prints each run and then the median, min and
// max; on a running server each run sends new events (seed --seed+i), so
// every run's events are accepted, none duplicates.
func TestBenchIngestRuns(t *testing.T) {
	s := startServer(t)
	out, code := weft(t, s, "bench", "ingest", "--events", "3000", "--batch-size", "1000", "--runs", "3")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"run 1 of 3: ", "run 2 of 3: ", "run 3 of 3: "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "(accepted 3000, duplicates 0, rejected 0)"); n != 3 {
		t.Errorf("%d runs of 3 accepted every event:\n%s", n, out)
	}
	summary := regexp.MustCompile(`median of 3 runs: (\d+) events/s durable \(min (\d+), max (\d+)\); batch latency p99 \S+ \(min \S+, max \S+\); CPU \S+ \(min \S+, max \S+\)`)
	if !summary.MatchString(out) {
		t.Errorf("no summary line in:\n%s", out)
	}
	st, err := s.Store.Stats(context.Background())
	if err != nil || st.Events != 9000 {
		t.Fatalf("store holds %+v, %v; want 9000 events", st, err)
	}
	if _, code := weft(t, s, "bench", "ingest", "--events", "10", "--runs", "0"); code != 2 {
		t.Errorf("--runs 0: exit %d, want 2", code)
	}
}

// bench ingest waits for background stitching after the last batch: in
// process by default, and on --server when --stitch-wait says so; a
// server that does not stitch is reported as such when the wait runs out.
func TestBenchIngestStitchWait(t *testing.T) {
	var out, errOut bytes.Buffer
	code := cli.Main([]string{"bench", "ingest", "--events", "3000", "--batch-size", "1000", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errOut)
	if code != 0 || !regexp.MustCompile(`; all stitched \S+ after the last batch \(CPU \S+\)`).MatchString(out.String()) {
		t.Fatalf("in process: exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	s := startServer(t) // its stitching runs only on demand
	got, code := weft(t, s, "bench", "ingest", "--events", "2000", "--batch-size", "1000", "--stitch-wait", "300ms")
	if code != 0 || !strings.Contains(got, "; not all stitched ") {
		t.Fatalf("--server --stitch-wait 300ms: exit %d:\n%s", code, got)
	}
}
