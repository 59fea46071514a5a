package erasure_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/store/postgres"
)

// filesHolding returns the files under root holding needle, with counts.
func filesHolding(t *testing.T, root, needle string) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte(needle)); n > 0 {
			rel, _ := filepath.Rel(root, p)
			out[rel] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPhysicallyGoneDuckDB: after Erase returns, the database file and its
// WAL hold no byte of the erased e-mail, open or closed.
func TestPhysicallyGoneDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := duckdb.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := newFixtureOn(t, db)
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	if len(filesHolding(t, dir, f.alice)) == 0 {
		t.Fatal("the files hold no copy of the e-mail before the erasure: the scan would prove nothing")
	}
	if _, err := erasure.Erase(ctx, db, []string{f.aliceID}); err != nil {
		t.Fatal(err)
	}
	if found := filesHolding(t, dir, f.alice); len(found) > 0 {
		t.Errorf("the erased e-mail is in %v", found)
	}
	if len(filesHolding(t, dir, f.bob)) == 0 {
		t.Error("bob's e-mail is gone from the files too")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if found := filesHolding(t, dir, f.alice); len(found) > 0 {
		t.Errorf("after closing, the erased e-mail is in %v", found)
	}
}

// TestPhysicallyGonePostgres runs its own throwaway cluster, so that its
// data directory holds nothing but this test's database. It scans the
// database's directory (base/<oid>: tables, TOAST, indexes, free space
// and visibility maps) and global/ (shared catalogs); pg_wal is reported,
// not asserted: the WAL keeps the original inserts until its segments are
// recycled and overwritten (package doc).
func TestPhysicallyGonePostgres(t *testing.T) {
	if _, err := pgtest.BinDir(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	c, err := pgtest.Start(&pgtest.StartOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	admin, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE erasure"); err != nil {
		t.Fatal(err)
	}
	var oid uint32
	if err := admin.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = 'erasure'").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.URL)
	u.Path = "/erasure"
	db, err := postgres.Open(ctx, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := newFixtureOn(t, db)
	// Written out to the files, as a server does within checkpoint_timeout.
	if _, err := admin.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(c.Dir, "data")
	base := filepath.Join(data, "base", fmt.Sprint(oid))
	if len(filesHolding(t, base, f.alice)) == 0 {
		t.Fatal("the database's files hold no copy of the e-mail before the erasure: the scan would prove nothing")
	}
	if _, err := erasure.Erase(ctx, db, []string{f.aliceID}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{base, filepath.Join(data, "global")} {
		for file, n := range filesHolding(t, dir, f.alice) {
			var rel string
			_ = db.QueryRowContext(ctx, "SELECT relname FROM pg_class WHERE pg_relation_filenode(oid) = $1", filepath.Base(file)).Scan(&rel)
			t.Errorf("the erased e-mail is in %s/%s (relation %q), %d times", dir, file, rel, n)
			rows, _ := db.QueryContext(ctx, "SELECT starelid::regclass::text, staattnum FROM pg_statistic WHERE coalesce(stavalues1::text,'') || coalesce(stavalues2::text,'') || coalesce(stavalues3::text,'') LIKE $1", "%"+f.alice+"%")
			for rows != nil && rows.Next() {
				var r string
				var a int
				rows.Scan(&r, &a)
				t.Logf("statistics of %s column %d", r, a)
			}
		}
	}
	if len(filesHolding(t, base, f.bob)) == 0 {
		t.Error("bob's e-mail is gone from the files too")
	}
	t.Logf("WAL segments still holding the e-mail (recycled later): %v", filesHolding(t, filepath.Join(data, "pg_wal"), f.alice))
}
