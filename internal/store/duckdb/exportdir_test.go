package duckdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportFolder: the engine may write files into its export folder of
// the data directory, and still nowhere else; the folder cannot be
// widened.
func TestExportFolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	folder := db.Capabilities().ExportFolder()
	if want, _ := filepath.Abs(filepath.Join(dir, ExportDirName)); folder != want+string(filepath.Separator) {
		t.Fatalf("export folder %q, want %q", folder, want+"/")
	}
	if err := os.WriteFile(filepath.Join(dir, "server.key"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(folder, "probe.parquet")
	if _, err := db.ExecContext(ctx, "COPY (SELECT 42 AS answer) TO '"+file+"' (FORMAT parquet)"); err != nil {
		t.Fatalf("COPY into the export folder: %v", err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
		t.Fatalf("the engine's file: %v", err)
	}
	for q, want := range map[string]string{
		"COPY (SELECT 1) TO '" + filepath.Join(dir, "beside.csv") + "'":       "disabled by configuration",
		"COPY (SELECT 1) TO '" + folder + "../escape.csv'":                    "disabled by configuration",
		"SET allowed_directories = ['/']":                                     "the configuration has been locked",
		"SELECT * FROM read_text('" + filepath.Join(dir, "server.key") + "')": "disabled by configuration",
	} {
		if _, err := db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", q, err, want)
		}
	}
}
