package duckdb

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestReclaimRewritesOnlyDeleted: Reclaim rewrites the row groups that
// hold deleted rows and leaves the others' blocks where they are; after
// it, no row group stores a deleted row, and every live row is there once.
func TestReclaimRewritesOnlyDeleted(t *testing.T) {
	ctx := context.Background()
	b, s := openInternal(t)
	conn, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Four row groups of 122,880 rows, the last one partly filled.
	exec(`CREATE TABLE reclaimed AS SELECT i, 'person-' || i AS v FROM range(400000) r(i)`)
	exec("CHECKPOINT")
	blocks := func(group int) []int64 {
		t.Helper()
		rows, err := conn.QueryContext(ctx, fmt.Sprintf(`SELECT block_id FROM pragma_storage_info('reclaimed')
			WHERE row_group_id = %d AND block_id >= 0 ORDER BY column_id, segment_id`, group))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}
	first := blocks(0)
	if len(first) == 0 {
		t.Fatal("no blocks in the first row group")
	}
	exec("DELETE FROM reclaimed WHERE i IN (130000, 130001, 250000)")
	ranges, err := deletedRanges(ctx, conn, "reclaimed")
	if err != nil {
		t.Fatal(err)
	}
	if len(ranges) != 1 || ranges[0].lo != 122880 || ranges[0].hi != 3*122880 {
		t.Fatalf("row groups holding deleted rows: %+v, want the second and third, merged", ranges)
	}
	if err := b.Reclaim(ctx, conn, []string{"reclaimed"}); err != nil {
		t.Fatal(err)
	}
	if left, err := deletedRanges(ctx, conn, "reclaimed"); err != nil || len(left) != 0 {
		t.Fatalf("after Reclaim, row groups still hold deleted rows: %+v (%v)", left, err)
	}
	if got := blocks(0); !slices.Equal(got, first) {
		t.Errorf("the first row group, without deleted rows, was rewritten: blocks %v, were %v", got, first)
	}
	var n, distinct, sum int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT i), sum(i) FROM reclaimed").Scan(&n, &distinct, &sum); err != nil {
		t.Fatal(err)
	}
	if want := int64(400000*399999/2 - 130000 - 130001 - 250000); n != 399997 || distinct != n || sum != want {
		t.Errorf("after Reclaim: %d rows (%d distinct), sum %d; want 399997, sum %d", n, distinct, sum, want)
	}
}
