package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Weft's engines at realistic sizes",
	}
	cmd.AddCommand(newBenchIngestCmd())
	return cmd
}

func newBenchIngestCmd() *cobra.Command {
	var (
		f      serverFlags
		target string
		opts   bench.IngestOpts
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Send demo events through the HTTP API and report durable events/s",
		Long: `bench ingest starts the platform in process on a fresh embedded store (or on --db), or uses a
running one given with --server, and sends --events demo events in batches of --batch-size
through POST /v1/events. Every event is durable when its batch is answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			opts.URL = target
			if target == "" {
				dir, err := f.useTempDataDir(cmd, "weft-bench-")
				if err != nil {
					return err
				}
				if dir != "" {
					defer os.RemoveAll(dir)
				}
				if !cmd.Flags().Changed("addr") {
					f.cfg.Addr = "127.0.0.1:0"
				}
				if !cmd.Flags().Changed("log-level") {
					f.logLevel = "warn"
				}
				s, cfg, err := f.start(cmd)
				if err != nil {
					return err
				}
				defer s.Shutdown()
				opts.URL = s.URL()
				store := "duckdb"
				if cfg.DB != "" {
					store = "postgres"
				}
				fmt.Fprintf(out, "store: %s\n", store)
			}
			r, err := bench.Ingest(ctx, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, r)
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&target, "server", "", "benchmark a running platform at this URL instead of starting one")
	cmd.Flags().StringVar(&opts.APIKey, "server-api-key", "", "x-api-key for --server")
	cmd.Flags().IntVar(&opts.Events, "events", 1_000_000, "events to send")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", 5000, "events per request")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", 2, "requests in flight")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the demo data")
	return cmd
}
