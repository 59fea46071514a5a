package duckdb

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

// reclaimConn opens a store and one connection to it, with a function
// that runs a statement on it or fails the test.
func reclaimConn(t *testing.T) (*backend, *store.Conn, func(string)) {
	t.Helper()
	ctx := context.Background()
	b, s := openInternal(t)
	conn, err := s.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return b, conn, func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestReclaimRewritesOnlyDeleted: Reclaim rewrites the row groups that
// hold deleted rows and leaves the others' blocks where they are; after
// it, no row group stores a deleted row, and every live row is there once.
func TestReclaimRewritesOnlyDeleted(t *testing.T) {
	ctx := context.Background()
	b, conn, exec := reclaimConn(t)
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
	ranges, err := deletedRanges(ctx, conn, "reclaimed", math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranges) != 1 || ranges[0].lo != 122880 || ranges[0].hi != 3*122880 {
		t.Fatalf("row groups holding deleted rows: %+v, want the second and third, merged", ranges)
	}
	if err := b.Reclaim(ctx, conn, []string{"reclaimed"}); err != nil {
		t.Fatal(err)
	}
	if left, err := deletedRanges(ctx, conn, "reclaimed", math.MaxInt64); err != nil || len(left) != 0 {
		t.Fatalf("after Reclaim, row groups still hold deleted rows: %+v (%v)", left, err)
	}
	if stored, live := storedRows(t, conn, "reclaimed"); stored != live {
		t.Fatalf("after Reclaim, the row groups store %d rows for %d live ones", stored, live)
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

// storedRows are the rows the table's row groups store, deleted ones
// included, and its live rows.
func storedRows(t *testing.T, conn *store.Conn, table string) (stored, live int64) {
	t.Helper()
	groups, err := rowGroups(context.Background(), conn, table)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		stored += g.hi - g.lo
	}
	if err := conn.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&live); err != nil {
		t.Fatal(err)
	}
	return stored, live
}

// TestReclaimMovesInSteps: with moves of one row group, Reclaim moves the
// row groups holding deleted rows one by one (each move's copies written
// over the blocks the previous one freed), and the deleted values are gone
// from the database file, while the live ones stay.
func TestReclaimMovesInSteps(t *testing.T) {
	defer func(n int64) { moveRows = n }(moveRows)
	moveRows = 122_880
	ctx := context.Background()
	b, conn, exec := reclaimConn(t)
	// Values stored as they are, so that a scan of the file finds them.
	exec(`CREATE TABLE reclaimed (i BIGINT, v TEXT USING COMPRESSION 'uncompressed')`)
	exec(`INSERT INTO reclaimed SELECT i, 'person-' || i || '@example.com' FROM range(600000) r(i)`)
	exec("CHECKPOINT")
	var path string
	if err := conn.QueryRowContext(ctx, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").Scan(&path); err != nil {
		t.Fatal(err)
	}
	holds := func(value string) bool {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(data, []byte(value))
	}
	erased := []int{1000, 200000, 330000, 470000, 599999}
	for _, i := range erased {
		if !holds(fmt.Sprintf("person-%d@", i)) {
			t.Fatalf("the file holds no person-%d before the deletion: the scan would prove nothing", i)
		}
		exec(fmt.Sprintf("DELETE FROM reclaimed WHERE i = %d", i))
	}
	exec("CHECKPOINT")
	size := func() (total int64) {
		t.Helper()
		if err := conn.QueryRowContext(ctx, "SELECT total_blocks FROM pragma_database_size()").Scan(&total); err != nil {
			t.Fatal(err)
		}
		return total
	}
	groups, err := rowGroups(ctx, conn, "reclaimed")
	if err != nil {
		t.Fatal(err)
	}
	before := size()
	if err := b.Reclaim(ctx, conn, []string{"reclaimed"}); err != nil {
		t.Fatal(err)
	}
	// One move of everything would grow the file by about the four moved
	// row groups (measured: 81 blocks to 159); moves of one group reuse the
	// blocks freed before them (81 to 119).
	if after := size(); after-before > before*3/5 {
		t.Errorf("the file grew from %d blocks to %d (%d row groups): the moves did not write over the blocks freed before them", before, after, len(groups))
	}
	for _, i := range erased {
		if holds(fmt.Sprintf("person-%d@", i)) {
			t.Errorf("person-%d is still in the file after Reclaim", i)
		}
	}
	for _, i := range []int{0, 1001, 200001, 599998} {
		if !holds(fmt.Sprintf("person-%d@", i)) {
			t.Errorf("the live person-%d is gone from the file", i)
		}
	}
	if stored, live := storedRows(t, conn, "reclaimed"); stored != live || live != 600000-int64(len(erased)) {
		t.Errorf("after Reclaim, the row groups store %d rows for %d live ones, want %d", stored, live, 600000-len(erased))
	}
}

// TestLiveRowsCountsEachGroup: the one-scan count of live rows per row
// group gives what a count of each group's rowid range gives, for groups
// left whole, partly deleted, deleted whole and partly filled.
func TestLiveRowsCountsEachGroup(t *testing.T) {
	ctx := context.Background()
	_, conn, exec := reclaimConn(t)
	exec(`CREATE TABLE counted AS SELECT i FROM range(500000) r(i)`)
	exec("CHECKPOINT")
	exec("DELETE FROM counted WHERE i % 1000 = 3 AND i < 122880") // group 0: partly
	exec("DELETE FROM counted WHERE i >= 245760 AND i < 368640")  // group 2: whole
	exec("DELETE FROM counted WHERE i = 499999")                  // the last, partly filled
	groups, err := rowGroups(ctx, conn, "counted")
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) < 4 {
		t.Fatalf("row groups %v: want at least 4", groups)
	}
	live, err := liveRows(ctx, conn, "counted", groups)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range groups {
		var want int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM counted WHERE rowid >= $1 AND rowid < $2", g.lo, g.hi).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if live[i] != want {
			t.Errorf("group %d %v: %d live rows, a count of its range gives %d", i, g, live[i], want)
		}
	}
	if live[2] != 0 || live[0] != 122880-123 {
		t.Errorf("live rows %v: want group 0 with 122757, group 2 with none", live)
	}
}
