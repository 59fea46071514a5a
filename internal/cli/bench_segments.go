package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
)

func newBenchSegmentsCmd() *cobra.Command {
	var (
		f       serverFlags
		opts    bench.SegmentsOpts
		webhook bench.WebhookOpts
		runs    int
	)
	cmd := &cobra.Command{
		Use:   "segments",
		Short: "Time 10 segments over a loaded, stitched store: full computation, incremental run, preview",
		Long: `bench segments loads --events demo events of --customers customers into a fresh embedded
store (or --data, or --db), stitches them and calculates the demo attributes, unless the store
holds all that, and (on DuckDB) brings the copy of the payload fields up to date, as weft serve
keeps it in the background (timed apart); then it times a full computation of 10 segments of mixed conditions
(attributes, events in windows with SQL filters and sums, identifiers, other segments), an
incremental run after --changed entities changed, and the preview of a 3-condition tree; and,
before them, the delivery of --webhook-changes membership changes to a local webhook receiver.

With --runs N it does all that N times, each on a store of its own (with --data, a copy of it
made beside it and removed after, so that every run starts from the same store), and then prints
the median, minimum and maximum of the full and incremental runs (wall and CPU), the preview and
the peak RSS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var runReports []*bench.SegmentsReport
			return runEach(cmd, &f, "weft-bench-segments-", runs, func(bs *benchStore, progress func(string)) (fmt.Stringer, error) {
				var out reports
				if webhook.Changes > 0 {
					// First: the webhook benchmark wants the demo log as
					// loaded, and segments append their events to it.
					webhook.DB, webhook.Progress = bs.DB, progress
					webhook.Events, webhook.Customers, webhook.Seed = opts.Events, opts.Customers, opts.Seed
					hook, err := bench.Webhook(cmd.Context(), webhook)
					if err != nil {
						return nil, fmt.Errorf("webhook: %w", err)
					}
					out = append(out, hook)
				}
				opts.DB, opts.Progress = bs.DB, progress
				segs, err := bench.Segments(cmd.Context(), opts)
				if err != nil {
					return nil, err
				}
				runReports = append(runReports, segs)
				return append(reports{segs}, out...), nil
			}, func() fmt.Stringer { return bench.SummarizeSegments(runReports) })
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Events, "events", 10_000_000, "events in the log")
	cmd.Flags().IntVar(&opts.Customers, "customers", 1_000_000, "customers the events come from")
	cmd.Flags().IntVar(&opts.Changed, "changed", 10_000, "entities changed before the incremental run; -1 skips it")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data")
	cmd.Flags().IntVar(&webhook.Changes, "webhook-changes", 100_000, "membership changes delivered to a local webhook receiver; 0 skips it")
	cmd.Flags().IntVar(&webhook.BatchSize, "webhook-batch-size", 500, "changes per webhook request")
	cmd.Flags().IntVar(&runs, "runs", 1, runsUsage)
	return cmd
}

// reports prints several benchmarks' reports one after the other.
type reports []fmt.Stringer

func (rs reports) String() string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(strings.TrimSuffix(r.String(), "\n"))
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
