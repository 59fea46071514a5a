package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
)

func newBenchJobsCmd() *cobra.Command {
	var (
		f     serverFlags
		blob  bench.BlobImportOpts
		sched bench.SchedulerOpts
	)
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Measure the jobs: the runtime's cost per perform, and blob import throughput into the event log",
		Long: `bench jobs first times the job runtime itself: one run of a job that does nothing but count,
--performs performs long (each checkpoint written), and --runs one-perform runs from trigger to
completion. Then it writes --blob-events demo events as NDJSON into --blob-files files of a temporary
directory (or --blob-dir) and times the blob_import job importing them into a fresh embedded store
(or --data, or the PostgreSQL database --db): from Prepare to the last Perform, one file per
Perform, every event durable at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOnStore(cmd, &f, "weft-bench-jobs-", func(bs *benchStore, progress func(string)) (fmt.Stringer, error) {
				sched.DB = bs.DB
				progress("timing the job runtime")
				s, err := bench.Scheduler(cmd.Context(), sched)
				if err != nil {
					return nil, err
				}
				blob.DB, blob.Progress = bs.DB, progress
				b, err := bench.BlobImport(cmd.Context(), blob)
				if err != nil {
					return nil, err
				}
				return both{s, b}, nil
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&sched.Performs, "performs", 10_000, "performs of the runtime's timing run")
	cmd.Flags().IntVar(&sched.Runs, "runs", 200, "one-perform runs timed from trigger to completion")
	cmd.Flags().IntVar(&blob.Events, "blob-events", 1_000_000, "demo events to import")
	cmd.Flags().IntVar(&blob.Files, "blob-files", 10, "files the events are split into")
	cmd.Flags().IntVar(&blob.BatchSize, "blob-batch-size", 0, "records per append; 0 keeps the job's default")
	cmd.Flags().StringVar(&blob.Dir, "blob-dir", "", "directory for the files (default: a temporary one, removed after)")
	cmd.Flags().Uint64Var(&blob.Seed, "seed", 1, "seed of the demo data")
	return cmd
}

// both prints two reports.
type both [2]fmt.Stringer

func (b both) String() string { return b[0].String() + "\n" + b[1].String() }
