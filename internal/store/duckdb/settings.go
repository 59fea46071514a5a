package duckdb

import (
	"fmt"
	"net/url"
	"path/filepath"
)

// MemoryLimitDefault is DuckDB's memory_limit unless Settings say
// otherwise. DuckDB's own default, 80% of the machine's memory, let a
// calculation of the demo attributes over 10M events reach 8.8 GB of
// resident memory on a 24 GiB machine (issue 20); with a limit DuckDB
// spills its hash tables and sorts to the temporary directory instead.
// At 2GB a stitching rebuild of 10M events peaked at 3.6 GiB (DuckDB
// fills its pool with the log's blocks and the passes' staging tables,
// which stay until the rebuild commits); at 1100MB it peaks at 2.7 GiB
// (2,743-2,813 MiB) in the same time, and the attributes' full calculation over 10M events
// takes 10% longer (28.1-28.5 s against 31.1-31.5 s; at 1GB its staging
// spills and it takes 38% longer). See docs/operations.md, Memory.
const MemoryLimitDefault = "1100MB"

// Settings bound the memory of the embedded engine. They are fixed when the
// store opens (the configuration is locked after that, see lockConfiguration).
type Settings struct {
	// MemoryLimit is DuckDB's memory_limit: how much memory its buffer
	// manager may hold (hash tables, sorts, temporary tables, cached
	// blocks of the file), as DuckDB reads it ("2GB", "512MiB"; not a percentage).
	// Past it, operators that can spill write to TempDirectory. What it
	// does not count: allocations outside the buffer manager and the Go
	// heap. Default MemoryLimitDefault.
	MemoryLimit string
	// TempDirectory is where DuckDB spills. Default weft.duckdb.tmp in the
	// data directory (DuckDB's own default, beside the database file).
	TempDirectory string
}

// WithDefaults fills in the defaults; a nil receiver gives all defaults.
func (s *Settings) WithDefaults(dataDir string) Settings {
	var out Settings
	if s != nil {
		out = *s
	}
	if out.MemoryLimit == "" {
		out.MemoryLimit = MemoryLimitDefault
	}
	if out.TempDirectory == "" {
		out.TempDirectory = filepath.Join(dataDir, FileName+".tmp")
	}
	return out
}

// dsn adds the settings to the options of a DuckDB connection string.
func (s Settings) dsn(v url.Values) error {
	dir, err := filepath.Abs(s.TempDirectory)
	if err != nil {
		return fmt.Errorf("temp directory %q: %w", s.TempDirectory, err)
	}
	v.Set("memory_limit", s.MemoryLimit)
	v.Set("temp_directory", dir)
	return nil
}
