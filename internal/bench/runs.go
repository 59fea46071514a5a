package bench

import (
	"fmt"
	"strings"
	"time"
)

// A Figure is one figure of a benchmark over several runs of it, each on
// a store of its own (weft bench stitch|attributes --runs): the runs'
// values in run order, and their median, minimum and maximum.
type Figure struct {
	Name   string
	Unit   string // s, x or MiB: how the values print
	Values []float64
}

// Spread is the median (the upper one of an even count), minimum and
// maximum of the values.
func (f Figure) Spread() [3]float64 { return spread(f.Values) }

func (f Figure) format(v float64) string {
	switch f.Unit {
	case "s":
		return fmt.Sprintf("%.3f s", v)
	case "x":
		return fmt.Sprintf("%.2fx", v)
	default:
		return fmt.Sprintf("%.0f %s", v, f.Unit)
	}
}

// RunsSummary is the figures of several runs of one benchmark.
type RunsSummary struct {
	Runs    int
	Figures []Figure
}

// add appends a figure, got from every run, unless a run lacks it
// (value reports false).
func (s *RunsSummary) add(name, unit string, n int, value func(i int) (float64, bool)) {
	f := Figure{Name: name, Unit: unit}
	for i := range n {
		v, ok := value(i)
		if !ok {
			return
		}
		f.Values = append(f.Values, v)
	}
	s.Figures = append(s.Figures, f)
}

func (s *RunsSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "median of %d runs (min, max; each run's value):", s.Runs)
	for _, f := range s.Figures {
		sp := f.Spread()
		vals := make([]string, len(f.Values))
		for i, v := range f.Values {
			vals[i] = f.format(v)
		}
		fmt.Fprintf(&b, "\n  %-40s %s (min %s, max %s; %s)", f.Name, f.format(sp[0]), f.format(sp[1]), f.format(sp[2]), strings.Join(vals, ", "))
	}
	return b.String()
}

// secs is d in seconds, and whether it was measured (not zero).
func secs(d time.Duration) (float64, bool) { return d.Seconds(), d > 0 }

// ratio is how many times faster took is than baseline, when both ran.
func ratio(baseline, took time.Duration) (float64, bool) {
	if baseline <= 0 || took <= 0 {
		return 0, false
	}
	return baseline.Seconds() / took.Seconds(), true
}

// SummarizeStitch sums up runs of the stitching benchmark (at least one).
func SummarizeStitch(runs []*StitchReport) *RunsSummary {
	s, n := &RunsSummary{Runs: len(runs)}, len(runs)
	s.add("rebuild", "s", n, func(i int) (float64, bool) { return secs(runs[i].RebuildTime) })
	s.add("rebuild, process CPU", "s", n, func(i int) (float64, bool) { return secs(runs[i].RebuildCPU) })
	s.add("incremental pass", "s", n, func(i int) (float64, bool) { return secs(runs[i].IncrementalTime) })
	s.add("incremental pass with splits", "s", n, func(i int) (float64, bool) { return secs(runs[i].SplitPassTime) })
	s.add("peak RSS", "MiB", n, func(i int) (float64, bool) { return float64(runs[i].PeakRSSBytes >> 20), runs[i].PeakRSSBytes > 0 })
	baseline := func(i int) time.Duration {
		if runs[i].Baseline == nil {
			return 0
		}
		return runs[i].Baseline.Time
	}
	s.add("SQL baseline", "s", n, func(i int) (float64, bool) { return secs(baseline(i)) })
	s.add("rebuild vs baseline", "x", n, func(i int) (float64, bool) { return ratio(baseline(i), runs[i].RebuildTime) })
	s.add("incremental pass vs baseline", "x", n, func(i int) (float64, bool) { return ratio(baseline(i), runs[i].IncrementalTime) })
	return s
}

// SummarizeAttributes sums up runs of the attributes benchmark (at least
// one).
func SummarizeAttributes(runs []*AttributesReport) *RunsSummary {
	s, n := &RunsSummary{Runs: len(runs)}, len(runs)
	s.add("full calculation", "s", n, func(i int) (float64, bool) { return secs(runs[i].Full) })
	s.add("incremental run", "s", n, func(i int) (float64, bool) { return secs(runs[i].IncrementalTime) })
	s.add("peak RSS", "MiB", n, func(i int) (float64, bool) { return float64(runs[i].PeakRSSBytes >> 20), runs[i].PeakRSSBytes > 0 })
	baseline := func(i int) time.Duration {
		if runs[i].Baseline == nil {
			return 0
		}
		return runs[i].Baseline.Time
	}
	s.add("SQL baseline", "s", n, func(i int) (float64, bool) { return secs(baseline(i)) })
	s.add("full calculation vs baseline", "x", n, func(i int) (float64, bool) { return ratio(baseline(i), runs[i].Full) })
	s.add("incremental run vs baseline", "x", n, func(i int) (float64, bool) { return ratio(baseline(i), runs[i].IncrementalTime) })
	return s
}

// SummarizeSegments sums up runs of the segments benchmark (at least one).
func SummarizeSegments(runs []*SegmentsReport) *RunsSummary {
	s, n := &RunsSummary{Runs: len(runs)}, len(runs)
	s.add("full computation", "s", n, func(i int) (float64, bool) { return secs(runs[i].Full) })
	s.add("full computation, process CPU", "s", n, func(i int) (float64, bool) { return secs(runs[i].FullCPU) })
	s.add("incremental run", "s", n, func(i int) (float64, bool) { return secs(runs[i].Incremental) })
	s.add("incremental run, process CPU", "s", n, func(i int) (float64, bool) { return secs(runs[i].IncrementalCPU) })
	s.add("preview (each run's median of 5)", "s", n, func(i int) (float64, bool) { return secs(runs[i].Preview) })
	s.add("peak RSS", "MiB", n, func(i int) (float64, bool) { return float64(runs[i].PeakRSSBytes >> 20), runs[i].PeakRSSBytes > 0 })
	return s
}
