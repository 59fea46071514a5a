package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/server"
)

// demoStoresJob is the quickstart's scheduled import of the CRM's store
// exports.
const demoStoresJob = "crm_stores"

// demoConfig is the demo weft.yaml plus the quickstart's job: a daily
// blob import of the store files written into dir.
func demoConfig(dir string) []byte {
	source := "file://" + filepath.ToSlash(dir)
	return []byte(string(demo.Config) + fmt.Sprintf(`
# Added by weft quickstart: import the CRM's store exports every day at
# 06:00 UTC (and now), oldest file first, into the stores object.
jobs:
  %s:
    job: blob_import
    description: the CRM's daily store exports
    cron: "0 0 6 * * ?"
    parameters: {source: %q, format: json, target: "objects:stores"}
`, demoStoresJob, source))
}

// storesDir is where the quickstart writes the demo store files: beside
// the embedded store, or in a temporary directory with PostgreSQL.
func storesDir(cfg server.Config) (string, error) {
	if cfg.DB != "" {
		return os.MkdirTemp("", "weft-demo-stores-")
	}
	dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "demo-crm-stores"))
	if err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// jobsDemo runs the store import now and prints what it did.
func jobsDemo(ctx context.Context, out io.Writer, c *client.Client, dir string, seed uint64) error {
	files, stores, err := demo.StoreFiles(dir, 3, 20, seed)
	if err != nil {
		return fmt.Errorf("write the demo store files: %w", err)
	}
	run, err := c.TriggerJob(ctx, demoStoresJob, nil)
	if err != nil {
		return fmt.Errorf("trigger the store import: %w", err)
	}
	for !jobrunner.Finished(run.Status) {
		time.Sleep(100 * time.Millisecond)
		if run, err = c.JobRun(ctx, run.ID); err != nil {
			return err
		}
	}
	notes, err := c.Notifications(ctx, "", demoStoresJob, 1)
	if err != nil {
		return err
	}
	summary := ""
	if len(notes) > 0 {
		summary = notes[0].Summary
	}
	fmt.Fprintf(out, `Scheduled jobs: stitching (every minute and after events arrive), attributes (hourly and
after stitching), %s (blob_import, daily at 06:00 UTC). Ran %s now over %d files in %s:
  run %s ended %s after %d performs: %s
  (%d distinct stores in the files; one row is broken on purpose and reported, not imported)
`, demoStoresJob, demoStoresJob, len(files), dir, run.ID, strings.ToUpper(run.Status), run.Performs, summary, stores)
	return nil
}
