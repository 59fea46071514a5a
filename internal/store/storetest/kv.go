package storetest

import (
	"context"
	"testing"
	"time"
)

var kvTests = []test{
	{"CompareAndSwap", testKVCompareAndSwap},
}

// testKVCompareAndSwap: the kv queries write only over the version read,
// and a record exists once per store and key.
func testKVCompareAndSwap(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	affected := func(name string, args ...any) int64 {
		t.Helper()
		res, err := s.ExecContext(ctx, s.Query(name), args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := affected("KVInsert", "kv", "k", "v1", int64(1), fixedNow, nil); n != 1 {
		t.Fatalf("insert: %d rows", n)
	}
	if n := affected("KVInsert", "kv", "k", "v2", int64(2), fixedNow, nil); n != 0 {
		t.Fatalf("second insert of the key: %d rows", n)
	}
	if n := affected("KVInsert", "settings", "k", "other", int64(3), fixedNow, fixedNow.Add(time.Hour)); n != 1 {
		t.Fatalf("same key in another store: %d rows", n)
	}
	if n := affected("KVUpdate", "kv", "k", "v2", int64(2), fixedNow, int64(9), nil); n != 0 {
		t.Fatalf("update over a stale version: %d rows", n)
	}
	if n := affected("KVUpdate", "kv", "k", "v2", int64(2), fixedNow, int64(1), nil); n != 1 {
		t.Fatalf("update over the version read: %d rows", n)
	}
	var value string
	var version int64
	var expires any
	if err := s.QueryRowContext(ctx, s.Query("KVGet"), "kv", "k").Scan(&value, &version, &expires); err != nil {
		t.Fatal(err)
	}
	if value != "v2" || version != 2 || expires != nil {
		t.Fatalf("read %q %d, expires %v", value, version, expires)
	}
	// An insert with an expiry keeps it.
	if err := s.QueryRowContext(ctx, s.Query("KVGet"), "settings", "k").Scan(&value, &version, &expires); err != nil || expires == nil {
		t.Fatalf("an insert with an expiry: expires %v (%v)", expires, err)
	}
	if got := column(t, s, "SELECT key FROM ("+s.Query("KVList")+") l", "kv", fixedNow); len(got) != 1 || got[0] != "k" {
		t.Fatalf("list %v", got)
	}
}
