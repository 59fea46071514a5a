package fileexport_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/destination/fileexport"
	"github.com/weftdata/weft/internal/destination/fileexport/fileexporttest"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// benchProfiles is the number of profiles BenchmarkExport exports:
// WEFT_BENCH_PROFILES, default 100,000.
func benchProfiles(b *testing.B) int {
	if s := os.Getenv("WEFT_BENCH_PROFILES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 100_000
}

// BenchmarkExport exports every profile with an identifier and five
// attributes to a local folder, in each format, on both backends (on
// DuckDB Parquet with the engine's writer and with the Go writer):
//
//	WEFT_BENCH_PROFILES=2000000 go test -run '^$' -bench Export -benchtime 1x ./internal/destination/fileexport
func BenchmarkExport(b *testing.B) {
	n := benchProfiles(b)
	for _, backend := range dbtest.Backends {
		b.Run(backend, func(b *testing.B) {
			db := dbtest.Open(b, backend)
			start := time.Now()
			if err := fileexporttest.Seed(context.Background(), db, n); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d profiles seeded in %s", backend, n, time.Since(start).Round(time.Millisecond))
			dir := b.TempDir()
			cases := []struct {
				name, format string
				engine       bool
			}{{"csv", "csv", false}, {"ndjson", "ndjson", false}, {"parquet", "parquet", true}}
			if db.Capabilities().ExportFolder() != "" {
				cases = append(cases, struct {
					name, format string
					engine       bool
				}{"parquet-go-writer", "parquet", false})
			}
			for _, c := range cases {
				b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
					cfg, err := config.Parse([]byte(fileexporttest.Config + fmt.Sprintf("destinations:\n  - {id: bench, type: file_export, target: %q, format: %s, identifiers: [email], attributes: %s}\n",
						"file://"+filepath.ToSlash(dir), c.format, fileexporttest.Attributes)))
					if err != nil {
						b.Fatal(err)
					}
					h := &harness{db: db, cfg: cfg}
					restore := fileexport.SetEngineParquet(c.engine)
					defer restore()
					var st fileexport.State
					for b.Loop() {
						var err error
						if st, err = h.tryRun("bench"); err != nil {
							b.Fatal(err)
						}
					}
					if st.Rows != int64(n) {
						b.Fatalf("%d rows, want %d", st.Rows, n)
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
					b.ReportMetric(float64(st.Bytes), "bytes")
				})
			}
		})
	}
}
