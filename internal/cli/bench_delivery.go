package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
)

func newBenchDeliveryCmd() *cobra.Command {
	var (
		f       serverFlags
		opts    bench.DeliveryOpts
		profile string
	)
	cmd := &cobra.Command{
		Use:   "delivery",
		Short: "Load users, items and engagement, then time /deliver from a separate load process",
		Long: `bench delivery starts the platform in process on a fresh embedded store (or on --db), gives it
--users customers with a favourite category (five view events each, stitched, attributes
calculated), --items items and --impressions impressions with clicks logged through POST /log,
and ranks by engagement and the favourite category. A second process on loopback (this binary's
hidden "bench delivery-load") then sends /deliver requests of each --insertions size: as fast
as --concurrency workers get answers, and at --rate requests/s. Server-side latencies come from
the Server-Timing header of each answer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			s, cfg, stop, err := f.startBench(cmd, "weft-bench-delivery-")
			if err != nil {
				return err
			}
			defer stop()
			self, err := os.Executable()
			if err != nil {
				return err
			}
			opts.URL = s.URL()
			if len(cfg.APIKeys) > 0 {
				opts.APIKey = cfg.APIKeys[0]
			}
			opts.LoadCommand = []string{self, "bench", "delivery-load"}
			opts.Progress = func(s string) { fmt.Fprintf(cmd.ErrOrStderr(), "%s...\n", s) }
			if profile != "" {
				stop, err := cpuProfile(profile)
				if err != nil {
					return err
				}
				defer stop()
			}
			r, err := bench.Delivery(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, r)
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Users, "users", 100_000, "customers, each with five view events")
	cmd.Flags().IntVar(&opts.Items, "items", 10_000, "items insertions are drawn from")
	cmd.Flags().IntVar(&opts.Impressions, "impressions", 200_000, "impressions logged through /log (clicks on some)")
	cmd.Flags().IntSliceVar(&opts.Insertions, "insertions", []int{1000, 100}, "insertions per request, one set of phases each")
	cmd.Flags().DurationVar(&opts.Duration, "duration", 10*time.Second, "length of each load phase")
	cmd.Flags().IntVar(&opts.Concurrency, "concurrency", 4, "requests in flight in the throughput phases")
	cmd.Flags().IntVar(&opts.Rate, "rate", 1000, "requests/s of the latency phases")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the bench data")
	cmd.Flags().StringVar(&profile, "cpu-profile", "", "write the server process's CPU profile (setup and load) to this file")
	return cmd
}

// cpuProfile profiles this process until stop is called.
func cpuProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// newBenchDeliveryLoadCmd is the load process of bench delivery: it runs
// one phase given as JSON and prints its report as JSON.
func newBenchDeliveryLoadCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "delivery-load <phase as JSON>",
		Short:  "The load process of bench delivery",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o bench.LoadOpts
			if err := json.Unmarshal([]byte(args[0]), &o); err != nil {
				return fmt.Errorf("phase: %w", err)
			}
			r, err := bench.DeliveryLoad(cmd.Context(), o)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(r)
		},
	}
}
