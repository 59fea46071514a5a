package plugin

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// benchUsers is the number of customers of the benchmarks
// (WEFT_BENCH_USERS, default 1,000,000).
func benchUsers(b *testing.B) int {
	if v := os.Getenv("WEFT_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// fillUsers makes n live entities u<i> with two attributes each, set-based.
func fillUsers(b *testing.B, db *store.DB, n int) {
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO entities (id, created_seq, created_at, modified_at)
		 SELECT 'u' || CAST(i AS TEXT), i, TIMESTAMPTZ '2024-01-01 00:00:00+00', TIMESTAMPTZ '2024-01-01 00:00:00+00'
		 FROM generate_series(1, $1) AS g(i)`,
		`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at)
		 SELECT 'u' || CAST(i AS TEXT), 'orders', CAST(i % 17 AS TEXT), TIMESTAMPTZ '2024-01-01 00:00:00+00'
		 FROM generate_series(1, $1) AS g(i)`,
		`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at)
		 SELECT 'u' || CAST(i AS TEXT), 'city', 'city ' || CAST(i % 101 AS TEXT), TIMESTAMPTZ '2024-01-01 00:00:00+00'
		 FROM generate_series(1, $1) AS g(i)`,
	} {
		if _, err := db.ExecContext(ctx, q, n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDataset serves a dataset of every customer with two attribute
// features, as a data URL does, into io.Discard.
func BenchmarkDataset(b *testing.B) {
	for _, backend := range dbtest.Backends {
		b.Run(backend, func(b *testing.B) {
			db := dbtest.Open(b, backend)
			n := benchUsers(b)
			fillUsers(b, db, n)
			d := &Dataset{Key: "initial", Seed: "bench", Now: time.Now(), Features: []Feature{
				{Column: "feature_orders", Attribute: "orders", DataType: attr.DataInt},
				{Column: "feature_city", Attribute: "city", DataType: attr.DataString},
			}}
			b.ResetTimer()
			start := time.Now()
			var rows int64
			for b.Loop() {
				got, err := writeDataset(context.Background(), db, "bench", d, FullRange, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				if got != int64(n) {
					b.Fatalf("%d rows, want %d", got, n)
				}
				rows += got
			}
			b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
