package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/weftdata/weft/internal/store"
)

var executorTests = []test{
	{"TxRollback", testTxRollback},
	{"TxCommit", testTxCommit},
	{"InTx", testInTx},
	{"ConnKeepsTempTables", testConnKeepsTempTables},
}

// insertSource runs the named query SourceInsert on e: the same operation
// inside or outside a transaction.
func insertSource(t *testing.T, e store.Executor, id string) {
	t.Helper()
	if _, err := e.ExecContext(context.Background(), e.Query("SourceInsert"), id, fixedNow); err != nil {
		t.Fatalf("insert source %s: %v", id, err)
	}
}

func hasSource(t *testing.T, s store.Store, id string) bool {
	t.Helper()
	sources, err := s.SourceList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(sources, func(x store.Source) bool { return x.ID == id })
}

// testTxRollback: what a rolled-back transaction wrote leaves nothing.
func testTxRollback(t *testing.T, b Backend) {
	s := openDB(t, b)
	tx, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	insertSource(t, tx, "rolled-back")
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if hasSource(t, s, "rolled-back") {
		t.Fatal("a rolled-back insert persisted")
	}
	insertSource(t, s, "direct") // the same operation on the pool
	if !hasSource(t, s, "direct") {
		t.Fatal("an insert on the pool is lost")
	}
}

// testTxCommit: what a committed transaction wrote persists, on a
// connection or on the pool.
func testTxCommit(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insertSource(t, tx, "committed")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err == nil {
		t.Error("rollback after commit succeeded")
	}
	conn := openConn(t, s)
	ctx2, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insertSource(t, ctx2, "committed-on-conn")
	if err := ctx2.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"committed", "committed-on-conn"} {
		if !hasSource(t, s, id) {
			t.Errorf("committed source %s is missing", id)
		}
	}
}

// testInTx: fn's writes persist when it returns nil and vanish when it
// fails, whose error InTx returns.
func testInTx(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	if err := s.InTx(ctx, func(tx store.ExecutorTx) error { insertSource(t, tx, "kept"); return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.ExecutorTx) error { insertSource(t, tx, "dropped"); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want boom", err)
	}
	if !hasSource(t, s, "kept") || hasSource(t, s, "dropped") {
		t.Fatal("InTx kept the wrong writes")
	}
}

// testConnKeepsTempTables: a Conn is one connection, so a temporary table
// outlives its statement and a transaction on it.
func testConnKeepsTempTables(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	conn := openConn(t, s)
	exec(t, conn, "CREATE TEMP TABLE conn_test (v TEXT)")
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tx, "INSERT INTO conn_test VALUES ('x')")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := column(t, conn, "SELECT v FROM conn_test"); len(got) != 1 {
		t.Fatalf("temp table rows %v", got)
	}
}
