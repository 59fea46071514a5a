package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store"
)

func newBenchSegmentsCmd() *cobra.Command {
	var (
		f    serverFlags
		opts bench.SegmentsOpts
	)
	cmd := &cobra.Command{
		Use:   "segments",
		Short: "Time 10 segments over a loaded, stitched store: full computation, incremental run, preview",
		Long: `bench segments loads --events demo events of --customers customers into a fresh embedded
store (or --data, or --db), stitches them and calculates the demo attributes, unless the store
holds all that; then it times a full computation of 10 segments of mixed conditions
(attributes, events in windows with SQL filters and sums, identifiers, other segments), an
incremental run after --changed entities changed, and the preview of a 3-condition tree.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOnStore(cmd, &f, "weft-bench-segments-", func(db *store.DB, progress func(string)) (fmt.Stringer, error) {
				opts.DB, opts.Progress = db, progress
				return bench.Segments(cmd.Context(), opts)
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Events, "events", 10_000_000, "events in the log")
	cmd.Flags().IntVar(&opts.Customers, "customers", 1_000_000, "customers the events come from")
	cmd.Flags().IntVar(&opts.Changed, "changed", 10_000, "entities changed before the incremental run; -1 skips it")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data")
	return cmd
}
