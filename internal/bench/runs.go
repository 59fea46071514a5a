package bench

import (
	"fmt"
	"strings"
	"time"
)

// A Figure is one figure of a benchmark over several runs of it, each on
// a store of its own (weft bench stitch|attributes|segments --runs): the
// runs' values in run order, and their median, minimum and maximum.
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

// value is one figure of one run; ok is false when the run did not
// measure it.
type value struct {
	name, unit string
	v          float64
	ok         bool
}

// measured is a report whose figures a summary of runs gives: the same
// names in the same order for every run.
type measured interface{ figures() []value }

// summarize sums up runs (at least one) of one benchmark, leaving out a
// figure that any run lacks.
func summarize[R measured](runs []R) *RunsSummary {
	s := &RunsSummary{Runs: len(runs)}
	per := make([][]value, len(runs))
	for i, r := range runs {
		per[i] = r.figures()
	}
next:
	for j, first := range per[0] {
		f := Figure{Name: first.name, Unit: first.unit}
		for _, vs := range per {
			if !vs[j].ok {
				continue next
			}
			f.Values = append(f.Values, vs[j].v)
		}
		s.Figures = append(s.Figures, f)
	}
	return s
}

// seconds is d as a figure, measured when not zero.
func seconds(name string, d time.Duration) value {
	return value{name: name, unit: "s", v: d.Seconds(), ok: d > 0}
}

// mib is b bytes as a figure in MiB, measured when not zero.
func mib(name string, b int64) value {
	return value{name: name, unit: "MiB", v: float64(b >> 20), ok: b > 0}
}

// times is how many times faster took is than baseline, when both ran.
func times(name string, baseline, took time.Duration) value {
	if baseline <= 0 || took <= 0 {
		return value{name: name, unit: "x"}
	}
	return value{name: name, unit: "x", v: baseline.Seconds() / took.Seconds(), ok: true}
}

// SummarizeStitch sums up runs of the stitching benchmark (at least one).
func SummarizeStitch(runs []*StitchReport) *RunsSummary { return summarize(runs) }

func (r *StitchReport) figures() []value {
	var baseline time.Duration
	if r.Baseline != nil {
		baseline = r.Baseline.Time
	}
	return []value{
		seconds("rebuild", r.RebuildTime),
		seconds("rebuild, process CPU", r.RebuildCPU),
		seconds("incremental pass", r.IncrementalTime),
		seconds("incremental pass with splits", r.SplitPassTime),
		mib("peak RSS", r.PeakRSSBytes),
		seconds("SQL baseline", baseline),
		times("rebuild vs baseline", baseline, r.RebuildTime),
		times("incremental pass vs baseline", baseline, r.IncrementalTime),
	}
}

// SummarizeAttributes sums up runs of the attributes benchmark (at least
// one).
func SummarizeAttributes(runs []*AttributesReport) *RunsSummary { return summarize(runs) }

func (r *AttributesReport) figures() []value {
	var baseline time.Duration
	if r.Baseline != nil {
		baseline = r.Baseline.Time
	}
	return []value{
		seconds("full calculation", r.Full),
		seconds("incremental run", r.IncrementalTime),
		mib("peak RSS", r.PeakRSSBytes),
		seconds("SQL baseline", baseline),
		times("full calculation vs baseline", baseline, r.Full),
		times("incremental run vs baseline", baseline, r.IncrementalTime),
	}
}

// SummarizeSegments sums up runs of the segments benchmark (at least one).
func SummarizeSegments(runs []*SegmentsReport) *RunsSummary { return summarize(runs) }

func (r *SegmentsReport) figures() []value {
	return []value{
		seconds("full computation", r.Full),
		seconds("full computation, process CPU", r.FullCPU),
		seconds("incremental run", r.Incremental),
		seconds("incremental run, process CPU", r.IncrementalCPU),
		seconds("preview (each run's median of 5)", r.Preview),
		mib("peak RSS", r.PeakRSSBytes),
	}
}
