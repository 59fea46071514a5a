package fileexport_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/destination/fileexport"
	"github.com/weftdata/weft/internal/store"
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

// seed writes n live profiles with an e-mail and the five attributes
// spend, visits, vip, first_seen and last_seen, set-based.
func seed(b *testing.B, db *store.DB, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO entities (id, created_seq, created_at, modified_at) SELECT 'e' || CAST(i AS TEXT), i, $2, $2 FROM generate_series(1, $1) AS g(i)", []any{n, now}},
		{"INSERT INTO identifiers (category, value, entity_id, first_seq) SELECT 'email', 'p' || CAST(i AS TEXT) || '@example.com', 'e' || CAST(i AS TEXT), i FROM generate_series(1, $1) AS g(i)", []any{n}},
		{`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at)
		  SELECT 'e' || CAST(i AS TEXT), a.id, CASE a.id WHEN 'spend' THEN CAST(i % 1000 AS TEXT) || '.25' WHEN 'visits' THEN CAST(i % 97 AS TEXT)
		      WHEN 'vip' THEN CASE WHEN i % 2 = 0 THEN 'true' ELSE 'false' END WHEN 'first_seen' THEN '2026-01-15'
		      ELSE '2026-02-01 10:00:00+00' END, $2
		  FROM generate_series(1, $1) AS g(i), (SELECT 'spend' AS id UNION ALL SELECT 'visits' UNION ALL SELECT 'vip' UNION ALL SELECT 'first_seen' UNION ALL SELECT 'last_seen') a`, []any{n, now}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			b.Fatalf("%s: %v", q.sql, err)
		}
	}
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
			seed(b, db, n)
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
					h := &harness{t: nil, db: db}
					cfg := fmt.Sprintf("  - {id: bench, type: file_export, target: %q, format: %s, identifiers: [email], attributes: [spend, visits, vip, first_seen, last_seen]}\n",
						"file://"+filepath.ToSlash(dir), c.format)
					h.cfg = parseConfig(b, cfg)
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
