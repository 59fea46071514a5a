package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
)

func newBenchPrivacyCmd() *cobra.Command {
	var (
		f    serverFlags
		opts bench.PrivacyOpts
	)
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Time the erasure of people from a loaded store, and ingest with a long suppression list",
		Long: `bench privacy loads --events demo events of --customers customers into a fresh embedded store
(or --data, or --db), stitches them and calculates the demo attributes, unless the store holds
them already; then it times one erasure of --erase people (everything about them deleted, their
identifiers suppressed, the deleted bytes made physically gone), and ingest rounds of --ingest
new events through the ingester (no HTTP), alternately with an empty suppression list and one
of --suppressed identifiers. A store that already holds exactly --events events is used as it
is, so --prepare once and copies of the data directory make repeated runs quick.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOnStore(cmd, &f, "weft-bench-privacy-", func(bs *benchStore, progress func(string)) (fmt.Stringer, error) {
				opts.DB, opts.Progress = bs.DB, progress
				return bench.Privacy(cmd.Context(), opts)
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Events, "events", 10_000_000, "events in the log")
	cmd.Flags().IntVar(&opts.Customers, "customers", 1_000_000, "customers the events come from")
	cmd.Flags().IntVar(&opts.Erase, "erase", 1000, "people erased in one call")
	cmd.Flags().IntVar(&opts.Suppressed, "suppressed", 100_000, "identifiers on the suppression list for the second ingest figure")
	cmd.Flags().IntVar(&opts.Ingest, "ingest", 200_000, "events appended in each ingest round")
	cmd.Flags().IntVar(&opts.Rounds, "rounds", 3, "ingest rounds with and without the list, alternated")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data")
	cmd.Flags().BoolVar(&opts.Prepare, "prepare", false, "load, stitch and calculate the store in --data or --db and stop, to run on copies of it later")
	return cmd
}
