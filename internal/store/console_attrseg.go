package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Bucket is a range of a numeric attribute's values, [From, To), and how
// many customers have a value in it (the last bucket includes To).
type Bucket struct {
	From, To float64
	Count    int64
}

// AttributeHistogram splits the values of a numeric attribute into n
// buckets of equal width, counted from the values cache: as fast as the
// cache is small, whatever the number of customers. An attribute without
// values has no bucket; one whose values are all equal has one.
func (db *DB) AttributeHistogram(ctx context.Context, id string, n int) ([]Bucket, error) {
	counts := make([]int64, n)
	var lo, hi float64
	seen := false
	err := db.each(ctx, "ConsoleAttributeHistogram", func(rows *sql.Rows) error {
		var b int
		var c int64
		if err := rows.Scan(&b, &lo, &hi, &c); err != nil {
			return err
		}
		seen = true
		counts[min(max(b, 0), n-1)] += c
		return nil
	}, id, n)
	if err != nil {
		return nil, fmt.Errorf("read attribute histogram: %w", err)
	}
	if !seen {
		return nil, nil
	}
	if lo == hi {
		return []Bucket{{lo, hi, counts[0]}}, nil
	}
	out := make([]Bucket, n)
	width := (hi - lo) / float64(n)
	for i := range out {
		out[i] = Bucket{lo + float64(i)*width, lo + float64(i+1)*width, counts[i]}
	}
	out[n-1].To = hi
	return out, nil
}

// SegmentRunHistory reads the last limit runs of each segment of ids,
// oldest first: segment id -> runs. One query for every segment.
func (db *DB) SegmentRunHistory(ctx context.Context, ids []string, limit int) (map[string][]SegmentRun, error) {
	out := map[string][]SegmentRun{}
	err := db.each(ctx, "SegmentReadLastRuns", func(rows *sql.Rows) error {
		var id string
		run, err := scanSegmentRun(rows, &id)
		if err == nil {
			out[id] = append(out[id], *run)
		}
		return err
	}, ids, limit)
	if err != nil {
		return nil, fmt.Errorf("read segment runs: %w", err)
	}
	return out, nil
}
