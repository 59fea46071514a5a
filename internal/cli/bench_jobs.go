package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/store"
)

func newBenchJobsCmd() *cobra.Command {
	var (
		f    serverFlags
		blob bench.BlobImportOpts
	)
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Measure the jobs: blob import throughput from a local directory into the event log",
		Long: `bench jobs writes --blob-events demo events as NDJSON into --blob-files files of a temporary
directory (or --blob-dir) and times the blob_import job importing them into a fresh embedded store
(or --data, or the PostgreSQL database --db): from Prepare to the last Perform, one file per
Perform, every event durable at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOnStore(cmd, &f, "weft-bench-jobs-", func(db *store.DB, progress func(string)) (fmt.Stringer, error) {
				blob.DB, blob.Progress = db, progress
				return bench.BlobImport(cmd.Context(), blob)
			})
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().IntVar(&blob.Events, "blob-events", 1_000_000, "demo events to import")
	cmd.Flags().IntVar(&blob.Files, "blob-files", 10, "files the events are split into")
	cmd.Flags().IntVar(&blob.BatchSize, "blob-batch-size", 0, "records per append; 0 keeps the job's default")
	cmd.Flags().StringVar(&blob.Dir, "blob-dir", "", "directory for the files (default: a temporary one, removed after)")
	cmd.Flags().Uint64Var(&blob.Seed, "seed", 1, "seed of the demo data")
	return cmd
}
