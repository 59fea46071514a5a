package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
)

func newBenchPluginsCmd() *cobra.Command {
	var (
		f    serverFlags
		opts bench.PluginOpts
	)
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Measure plugin datasets (rows/s) and property updates validated, staged and published",
		Long: `bench plugins adds --users customers with two attributes each to a fresh embedded store (or
--data, or the PostgreSQL database --db: use an empty one), times serving a dataset of all of
them as a plugin's data URL does, then times one property for every customer going through
data.json validation, staging in batches of --batch-size users and publishing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOnStore(cmd, &f, "weft-bench-plugins-", func(bs *benchStore, progress func(string)) (fmt.Stringer, error) {
				opts.DB, opts.Progress = bs.DB, progress
				return bench.Plugins(cmd.Context(), opts)
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Users, "users", 1_000_000, "customers in the dataset and property updates")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", 100_000, "users per data.json batch")
	return cmd
}
