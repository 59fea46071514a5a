package bench

import (
	"strings"
	"testing"
	"time"
)

// A summary gives each figure's median, min and max with every run's
// value, ratios from each run's own baseline, and leaves out a figure
// that a run lacks.
func TestSummarizeRuns(t *testing.T) {
	s := SummarizeStitch([]*StitchReport{
		{RebuildTime: 3 * time.Second, IncrementalTime: 300 * time.Millisecond, Baseline: &BaselineReport{Time: 6 * time.Second}},
		{RebuildTime: 1 * time.Second, IncrementalTime: 100 * time.Millisecond, Baseline: &BaselineReport{Time: 4 * time.Second}},
		{RebuildTime: 2 * time.Second, IncrementalTime: 200 * time.Millisecond, Baseline: &BaselineReport{Time: 5 * time.Second}, SplitPassTime: time.Second},
	})
	got := s.String()
	for _, want := range []string{
		"median of 3 runs (min, max; each run's value):",
		"rebuild                                  2.000 s (min 1.000 s, max 3.000 s; 3.000 s, 1.000 s, 2.000 s)",
		"incremental pass                         0.200 s (min 0.100 s, max 0.300 s; 0.300 s, 0.100 s, 0.200 s)",
		"SQL baseline                             5.000 s (min 4.000 s, max 6.000 s; 6.000 s, 4.000 s, 5.000 s)",
		"rebuild vs baseline                      2.50x (min 2.00x, max 4.00x; 2.00x, 4.00x, 2.50x)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	for _, absent := range []string{"with splits", "peak RSS", "process CPU"} {
		if strings.Contains(got, absent) {
			t.Errorf("%q in a summary whose runs lack it:\n%s", absent, got)
		}
	}
	a := SummarizeAttributes([]*AttributesReport{{Full: 2 * time.Second, IncrementalTime: 100 * time.Millisecond, PeakRSSBytes: 3 << 20}})
	if got := a.String(); !strings.Contains(got, "peak RSS                                 3 MiB (min 3 MiB, max 3 MiB; 3 MiB)") || strings.Contains(got, "baseline") {
		t.Errorf("attributes summary:\n%s", got)
	}
	g := SummarizeSegments([]*SegmentsReport{{Full: 9 * time.Second, FullCPU: 17 * time.Second, Incremental: 800 * time.Millisecond, IncrementalCPU: time.Second, Preview: 300 * time.Millisecond}})
	if got := g.String(); !strings.Contains(got, "incremental run, process CPU             1.000 s") || !strings.Contains(got, "preview (each run's median of 5)") {
		t.Errorf("segments summary:\n%s", got)
	}
}
