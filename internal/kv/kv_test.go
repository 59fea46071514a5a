package kv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// eachBackend runs fn on a fresh store of each backend.
func eachBackend(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, b := range dbtest.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, dbtest.Open(t, b))
		})
	}
}

// clock is a settable time for expiry tests.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) opts() *kv.Options       { return &kv.Options{Now: c.now} }
func rec(kvs ...any) job.Record          { r := job.Record{}; add(r, kvs...); return r }
func add(r job.Record, kvs ...any) {
	for i := 0; i < len(kvs); i += 2 {
		r[kvs[i].(string)] = kvs[i+1]
	}
}
func ctx() context.Context { return context.Background() }
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantErr checks that err wraps target and mentions each of parts.
func wantErr(t *testing.T, err, target error, parts ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want one wrapping %q", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func rowCount(t *testing.T, db *store.DB, storeName, key string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx(), "SELECT count(*) FROM kv_records WHERE store = $1 AND key = $2", storeName, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		getR, putR := must[job.Record](t), must[job.Record](t)
		exists := must[bool](t)

		equal(t, "get of a missing key", getR(s.Get(ctx(), "k")), job.Record{})
		equal(t, "exists of a missing key", exists(s.Exists(ctx(), "k")), false)
		equal(t, "first put's previous", putR(s.Put(ctx(), "k", rec("a", 1, "b", "x", "c", []any{true}))), job.Record{})
		equal(t, "get", getR(s.Get(ctx(), "k")), rec("a", 1.0, "b", "x", "c", []any{true}))
		equal(t, "get of fields", getR(s.Get(ctx(), "k", "a", "missing")), rec("a", 1.0))
		equal(t, "exists", exists(s.Exists(ctx(), "k")), true)
		equal(t, "second put's previous", putR(s.Put(ctx(), "k", rec("a", 2))), rec("a", 1.0, "b", "x", "c", []any{true}))
		equal(t, "put replaces", getR(s.Get(ctx(), "k")), rec("a", 2.0))

		equal(t, "patch's previous", putR(s.Patch(ctx(), "k", job.Merge(rec("b", "y")))), rec("a", 2.0))
		equal(t, "patched", getR(s.Get(ctx(), "k")), rec("a", 2.0, "b", "y"))
		equal(t, "patch of a missing key", putR(s.Patch(ctx(), "new", job.Merge(rec("z", 1)))), job.Record{})
		equal(t, "patch created", getR(s.Get(ctx(), "new")), rec("z", 1.0))

		// An update changing its argument in place changes nothing else.
		prev := putR(s.Patch(ctx(), "k", func(p job.Record) (job.Record, error) { p["a"] = 3.0; return p, nil }))
		equal(t, "previous after an in-place update", prev, rec("a", 2.0, "b", "y"))
		boom := errors.New("boom")
		_, err := s.Patch(ctx(), "k", func(job.Record) (job.Record, error) { return nil, boom })
		wantErr(t, err, boom)
		equal(t, "after a failed update", getR(s.Get(ctx(), "k")), rec("a", 3.0, "b", "y"))

		equal(t, "delete of fields", putR(s.Delete(ctx(), "k", "b", "missing")), rec("b", "y"))
		equal(t, "after deleting a field", getR(s.Get(ctx(), "k")), rec("a", 3.0))
		equal(t, "delete of absent fields", putR(s.Delete(ctx(), "k", "missing")), job.Record{})
		equal(t, "delete", putR(s.Delete(ctx(), "k")), rec("a", 3.0))
		equal(t, "exists after delete", exists(s.Exists(ctx(), "k")), false)
		equal(t, "rows after delete", rowCount(t, db, kv.StoreKV, "k"), 0)
		equal(t, "delete of a missing key", putR(s.Delete(ctx(), "k")), job.Record{})

		// A record with no fields is not stored.
		putR(s.Put(ctx(), "new", job.Record{}))
		equal(t, "exists after an empty put", exists(s.Exists(ctx(), "new")), false)
		putR(s.Put(ctx(), "one", rec("f", 1)))
		equal(t, "delete of the last field", putR(s.Delete(ctx(), "one", "f")), rec("f", 1.0))
		equal(t, "rows after deleting the last field", rowCount(t, db, kv.StoreKV, "one"), 0)

		_, err = s.Put(ctx(), "", rec("a", 1))
		wantErr(t, err, kv.ErrInvalidKey)
		_, err = s.Get(ctx(), strings.Repeat("k", kv.MaxKeyBytes+1))
		wantErr(t, err, kv.ErrInvalidKey)
		_, err = s.Put(ctx(), "bad", rec("f", func() {}))
		if err == nil || !strings.Contains(err.Error(), `kv "bad": encode`) {
			t.Fatalf("put of an unencodable value: %v", err)
		}
	})
}

func TestStoresAreSeparate(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		key := []byte("0123456789abcdef0123456789abcdef")
		secrets, err := kv.NewSecrets(db, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		stores := map[string]job.Store{"kv": kv.New(db, nil), "settings": kv.NewSettings(db, nil), "secrets": secrets}
		for name, s := range stores {
			if _, err := s.Put(ctx(), "shared", rec("from", name)); err != nil {
				t.Fatal(err)
			}
		}
		for name, s := range stores {
			equal(t, name, must[job.Record](t)(s.Get(ctx(), "shared")), rec("from", name))
		}
		keys := must[[]kv.KeyInfo](t)(kv.NewSettings(db, nil).Keys(ctx()))
		if len(keys) != 1 || keys[0].Key != "shared" || !reflect.DeepEqual(keys[0].Fields, []string{"from"}) || keys[0].UpdatedAt.IsZero() {
			t.Fatalf("settings keys = %+v", keys)
		}
	})
}

func TestTooLarge(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		big := strings.Repeat("x", job.MaxRecordBytes)
		_, err := s.Put(ctx(), "big", rec("v", big))
		wantErr(t, err, job.ErrTooLarge, `kv "big"`, fmt.Sprint(job.MaxRecordBytes+8), "bytes")
		equal(t, "stored after a refused put", rowCount(t, db, kv.StoreKV, "big"), 0)

		// Just at the limit is fine: {"v":"..."} is 8 bytes plus the string.
		fits := rec("v", big[:job.MaxRecordBytes-8])
		if _, err := s.Put(ctx(), "big", fits); err != nil {
			t.Fatalf("put of a record of exactly MaxRecordBytes: %v", err)
		}
		err = s.Append(ctx(), "big", "more", "x")
		wantErr(t, err, job.ErrTooLarge, `kv "big"`)
		equal(t, "record after a refused append", must[job.Record](t)(s.Get(ctx(), "big")), fits)
	})
}

func TestIncrement(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		inc := must[float64](t)
		equal(t, "increment of a missing key", inc(s.Increment(ctx(), "c", "n", 2)), 2.0)
		equal(t, "increment", inc(s.Increment(ctx(), "c", "n", 1.5)), 3.5)
		equal(t, "decrement", inc(s.Increment(ctx(), "c", "n", -0.5)), 3.0)
		if _, err := s.Put(ctx(), "c", rec("n", 3, "s", " 41 ", "word", "abc", "flag", true, "list", []any{})); err != nil {
			t.Fatal(err)
		}
		equal(t, "increment of a numeric string", inc(s.Increment(ctx(), "c", "s", 1)), 42.0)
		equal(t, "stored as a number", must[job.Record](t)(s.Get(ctx(), "c", "s")), rec("s", 42.0))
		equal(t, "increment of a missing field", inc(s.Increment(ctx(), "c", "other", 1)), 1.0)

		_, err := s.Increment(ctx(), "c", "word", 1)
		wantErr(t, err, job.ErrNotNumber, `kv "c"`, `field "word"`, `"abc"`)
		_, err = s.Increment(ctx(), "c", "flag", 1)
		wantErr(t, err, job.ErrNotNumber, `field "flag"`, "boolean")
		_, err = s.Increment(ctx(), "c", "list", 1)
		wantErr(t, err, job.ErrNotNumber, `field "list"`, "list")
		equal(t, "after refused increments", must[job.Record](t)(s.Get(ctx(), "c", "word", "flag", "n")), rec("word", "abc", "flag", true, "n", 3.0))
	})
}

// TestConcurrentIncrements: N goroutines incrementing one field, through
// two KV values over the same database, give +N.
func TestConcurrentIncrements(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		const n = 40
		stores := []*kv.KV{kv.New(db, nil), kv.New(db, nil)}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				if _, err := stores[i%2].Increment(ctx(), "counter", "n", 1); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		equal(t, "counter", must[job.Record](t)(stores[0].Get(ctx(), "counter")), rec("n", float64(n)))
	})
}

// TestPatchCompareAndSwap changes the record behind Patch's back, as
// another process would, and checks that the update is called again with
// the new record.
func TestPatchCompareAndSwap(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		if _, err := s.Put(ctx(), "k", rec("n", 1)); err != nil {
			t.Fatal(err)
		}
		other := func() {
			_, err := db.ExecContext(ctx(), `UPDATE kv_records SET value = '{"n":10}', version = version + 1 WHERE store = 'kv' AND key = 'k'`)
			if err != nil {
				t.Error(err)
			}
		}
		var seen []job.Record
		prev, err := s.Patch(ctx(), "k", func(p job.Record) (job.Record, error) {
			seen = append(seen, rec("n", p["n"]))
			if len(seen) == 1 {
				other()
			}
			p["n"] = p["n"].(float64) + 1
			return p, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "records the update saw", seen, []job.Record{rec("n", 1.0), rec("n", 10.0)})
		equal(t, "previous", prev, rec("n", 10.0))
		equal(t, "after", must[job.Record](t)(s.Get(ctx(), "k")), rec("n", 11.0))

		// A record created behind the back of a Patch of a missing key.
		calls := 0
		_, err = s.Patch(ctx(), "fresh", func(p job.Record) (job.Record, error) {
			if calls++; calls == 1 {
				if _, err := db.ExecContext(ctx(), `INSERT INTO kv_records VALUES ('kv', 'fresh', '{"a":1}', 5, NULL, $1)`, time.Now()); err != nil {
					t.Error(err)
				}
			}
			return job.Merge(rec("b", 2))(p)
		})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "merged into the record created meanwhile", must[job.Record](t)(s.Get(ctx(), "fresh")), rec("a", 1.0, "b", 2.0))

		// A record that changes on every attempt: bounded, then an error.
		calls = 0
		_, err = s.Patch(ctx(), "k", func(p job.Record) (job.Record, error) {
			calls++
			other()
			return rec("n", 0), nil
		})
		wantErr(t, err, kv.ErrContention, `kv "k"`)
		equal(t, "update calls", calls, kv.MaxAttempts)
		equal(t, "after giving up", must[job.Record](t)(s.Get(ctx(), "k")), rec("n", 10.0))
	})
}

func TestExpire(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		s := kv.New(db, c.opts())
		ok := must[bool](t)
		getR := must[job.Record](t)
		equal(t, "expire of a missing key", ok(s.Expire(ctx(), "k", time.Minute)), false)
		equal(t, "rows after expire of a missing key", rowCount(t, db, kv.StoreKV, "k"), 0)

		if _, err := s.Put(ctx(), "k", rec("a", 1)); err != nil {
			t.Fatal(err)
		}
		equal(t, "expire", ok(s.Expire(ctx(), "k", 10*time.Second)), true)
		c.advance(5 * time.Second)
		equal(t, "before expiry", getR(s.Get(ctx(), "k")), rec("a", 1.0))
		// Writes keep the expiry.
		if _, err := s.Put(ctx(), "k", rec("a", 2)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Increment(ctx(), "k", "n", 1); err != nil {
			t.Fatal(err)
		}
		c.advance(5 * time.Second)
		equal(t, "at expiry", getR(s.Get(ctx(), "k")), job.Record{})
		equal(t, "exists at expiry", ok(s.Exists(ctx(), "k")), false)
		equal(t, "expired row cleaned by the read", rowCount(t, db, kv.StoreKV, "k"), 0)

		// A write after expiry starts a record without expiry.
		if _, err := s.Put(ctx(), "k", rec("b", 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Expire(ctx(), "k", time.Second); err != nil {
			t.Fatal(err)
		}
		c.advance(2 * time.Second)
		equal(t, "previous of a put over an expired record", must[job.Record](t)(s.Put(ctx(), "k", rec("c", 1))), job.Record{})
		c.advance(time.Hour)
		equal(t, "new record after expiry", getR(s.Get(ctx(), "k")), rec("c", 1.0))
		equal(t, "expire of an expired key", ok(s.Expire(ctx(), "k", -time.Second)), true)
		equal(t, "after a negative ttl", ok(s.Expire(ctx(), "k", time.Minute)), false)

		// A ttl of 0 keeps the record for ever.
		if _, err := s.Put(ctx(), "kept", rec("a", 1)); err != nil {
			t.Fatal(err)
		}
		ok(s.Expire(ctx(), "kept", time.Second))
		ok(s.Expire(ctx(), "kept", 0))
		c.advance(time.Hour)
		equal(t, "after expire 0", getR(s.Get(ctx(), "kept")), rec("a", 1.0))

		// Expired rows nobody reads are removed by DeleteExpired.
		for _, k := range []string{"x", "y"} {
			if _, err := s.Put(ctx(), k, rec("a", 1)); err != nil {
				t.Fatal(err)
			}
			ok(s.Expire(ctx(), k, time.Second))
		}
		c.advance(time.Minute)
		equal(t, "deleted expired", must[int64](t)(s.DeleteExpired(ctx())), int64(3)) // x, y and k
		equal(t, "rows left", rowCount(t, db, kv.StoreKV, "kept"), 1)
	})
}

func TestLists(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		shift := must[[]any](t)
		if err := s.Append(ctx(), "q", "items", "a", 1, map[string]any{"b": true}); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx(), "q", "items", "c"); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx(), "q", "items"); err != nil {
			t.Fatal(err)
		}
		equal(t, "list", must[job.Record](t)(s.Get(ctx(), "q")), rec("items", []any{"a", 1.0, map[string]any{"b": true}, "c"}))
		equal(t, "shift 2", shift(s.Shift(ctx(), "q", "items", 2)), []any{"a", 1.0})
		equal(t, "shift 0", shift(s.Shift(ctx(), "q", "items", 0)), []any(nil))
		equal(t, "shift past the end", shift(s.Shift(ctx(), "q", "items", 5)), []any{map[string]any{"b": true}, "c"})
		equal(t, "shift of an empty list", shift(s.Shift(ctx(), "q", "items", 1)), []any(nil))
		equal(t, "emptied list", must[job.Record](t)(s.Get(ctx(), "q")), rec("items", []any{}))

		equal(t, "shift of a missing key", shift(s.Shift(ctx(), "none", "items", 1)), []any(nil))
		equal(t, "shift created", must[bool](t)(s.Exists(ctx(), "none")), false)
		equal(t, "shift of a missing field", shift(s.Shift(ctx(), "q", "other", 1)), []any(nil))
		equal(t, "fields after shift of a missing field", must[job.Record](t)(s.Get(ctx(), "q")), rec("items", []any{}))

		if _, err := s.Put(ctx(), "q", rec("n", 1, "s", "text")); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.Append(ctx(), "q", "n", 2), job.ErrNotList, `kv "q"`, `field "n"`, "number")
		_, err := s.Shift(ctx(), "q", "s", 1)
		wantErr(t, err, job.ErrNotList, `field "s"`, "string")
		equal(t, "after refused list ops", must[job.Record](t)(s.Get(ctx(), "q")), rec("n", 1.0, "s", "text"))
	})
}
