package fileexport

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The engine's own Parquet writer: DuckDB writes the file with COPY ...
// TO (FORMAT parquet) into the folder its sandbox allows
// (store.Capabilities.ExportFolder), and the file is then copied to the
// target and removed. PostgreSQL has no Parquet writer (and its server's
// files may be on another machine): there the Go writer (parquet.go)
// streams the rows.

// engineParquet uses the engine's writer where there is one.
var engineParquet = true

// engineFolder is where the engine writes Parquet itself, or "".
func (j *exportJob) engineFolder() string {
	if j.def.Format != FormatParquet || !engineParquet {
		return ""
	}
	return j.deps.DB.Capabilities().ExportFolder()
}

// stagingName is the engine's file of a run, in its folder.
func stagingName(folder, destination, runID string) string {
	return filepath.Join(folder, destination+"-"+runID+".parquet")
}

// cleanStaging removes the engine files killed runs of the destination
// left.
func cleanStaging(folder, destination string) error {
	if folder == "" {
		return nil
	}
	left, err := filepath.Glob(filepath.Join(folder, destination+"-*.parquet"))
	if err != nil {
		return err
	}
	for _, f := range left {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// engineWrite has the engine write the Parquet file into its folder and
// copies it to w; it returns the rows written.
func (j *exportJob) engineWrite(ctx context.Context, folder string, w io.Writer) (int64, error) {
	staging := stagingName(folder, j.def.ID, j.inv.RunID)
	defer os.Remove(staging)
	copyTo := "COPY (" + j.spec.typedQuery() + ") TO '" + strings.ReplaceAll(staging, "'", "''") +
		fmt.Sprintf("' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE %d)", MaxRowGroupRows)
	res, err := j.deps.DB.ExecContext(ctx, copyTo)
	if err != nil {
		return 0, fmt.Errorf("write parquet: %w", err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	f, err := os.Open(staging)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return 0, fmt.Errorf("copy %s: %w", staging, err)
	}
	return rows, nil
}
