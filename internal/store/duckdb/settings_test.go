package duckdb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/store/duckdb"
)

// TestSettings: the memory limit and the spill folder reach DuckDB, by
// default and when set, and a query that needs more memory than the limit
// spills there instead of failing.
func TestSettings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name           string
		settings       *duckdb.Settings
		limit, tempDir string // want; tempDir relative to the data folder
	}{
		{"defaults", nil, "1.0 GiB", duckdb.FileName + ".tmp"}, // 1100MB
		{"set", &duckdb.Settings{MemoryLimit: "64MB", TempDirectory: "spill"}, "61.0 MiB", "spill"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := tc.settings
			if s != nil && !filepath.IsAbs(s.TempDirectory) {
				s.TempDirectory = filepath.Join(dir, s.TempDirectory)
			}
			db, err := duckdb.OpenWith(ctx, dir, nil, s)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var limit, temp string
			if err := db.QueryRowContext(ctx, "SELECT current_setting('memory_limit'), current_setting('temp_directory')").Scan(&limit, &temp); err != nil {
				t.Fatal(err)
			}
			if limit != tc.limit || temp != filepath.Join(dir, tc.tempDir) {
				t.Fatalf("memory_limit %q, temp_directory %q; want %q, %q", limit, temp, tc.limit, filepath.Join(dir, tc.tempDir))
			}
			if tc.settings == nil {
				return
			}
			// A sort of 2M rows of 100 bytes (about 200 MB) under 64 MB.
			var n int64
			err = db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT i, repeat(md5(CAST(i AS TEXT)), 3) AS s FROM range(2000000) t(i) ORDER BY s) x`).Scan(&n)
			if err != nil || n != 2_000_000 {
				t.Fatalf("sort under the limit: %d rows, %v", n, err)
			}
			var spilled int64
			if err := db.QueryRowContext(ctx, "SELECT coalesce(max(size), 0) FROM duckdb_temporary_files()").Scan(&spilled); err != nil {
				t.Fatal(err)
			}
			t.Logf("temporary files now: %d bytes", spilled)
			if _, err := os.Stat(temp); err != nil {
				t.Errorf("the spill folder was not made: %v", err)
			}
		})
	}
}

// TestSettingsRefused: a memory limit DuckDB cannot read fails the open
// with an error naming the setting.
func TestSettingsRefused(t *testing.T) {
	_, err := duckdb.OpenWith(context.Background(), t.TempDir(), nil, &duckdb.Settings{MemoryLimit: "lots"})
	if err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("got %v", err)
	}
}
