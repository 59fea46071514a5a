package kv_test

import (
	"database/sql"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// expiresAt is the stored expiry of a kv record (zero: none).
func expiresAt(t *testing.T, db *store.DB, key string) time.Time {
	t.Helper()
	var at sql.NullTime
	if err := db.QueryRowContext(ctx(), "SELECT expires_at FROM kv_records WHERE store = 'kv' AND key = $1", key).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at.Time.UTC()
}

func TestWritesWithTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		s := kv.New(db, c.opts())
		ttl := s.WithTTL(10 * time.Second)
		getR, putR := must[job.Record](t), must[job.Record](t)

		// put with a ttl returns the previous value and sets now+ttl.
		equal(t, "first put's previous", putR(ttl.Put(ctx(), "k", rec("a", 1))), job.Record{})
		equal(t, "expiry after a put with ttl", expiresAt(t, db, "k"), c.now().Add(10*time.Second))
		equal(t, "second put's previous", putR(ttl.Put(ctx(), "k", rec("a", 2))), rec("a", 1.0))
		c.advance(5 * time.Second)
		// A write without ttl keeps the expiry; one with a ttl renews it.
		equal(t, "patch's previous", putR(s.Patch(ctx(), "k", job.Merge(rec("b", 1)))), rec("a", 2.0))
		equal(t, "expiry after a write without ttl", expiresAt(t, db, "k"), c.now().Add(5*time.Second))
		if _, err := s.WithTTL(0).Increment(ctx(), "k", "n", 1); err != nil {
			t.Fatal(err)
		}
		equal(t, "expiry after WithTTL(0)", expiresAt(t, db, "k"), c.now().Add(5*time.Second))
		if _, err := s.WithTTL(time.Minute).Increment(ctx(), "k", "n", 1); err != nil {
			t.Fatal(err)
		}
		equal(t, "expiry after an increment with ttl", expiresAt(t, db, "k"), c.now().Add(time.Minute))
		c.advance(time.Minute)
		equal(t, "at expiry", getR(s.Get(ctx(), "k")), job.Record{})

		// Every kind of write takes the ttl.
		writes := map[string]func(job.KV) error{
			"append":     func(v job.KV) error { return v.Append(ctx(), "append", "l", 1) },
			"unshift":    func(v job.KV) error { return v.Unshift(ctx(), "unshift", "l", 1) },
			"add number": func(v job.KV) error { _, err := v.AddNumber(ctx(), "add number", "s", 1); return err },
			"add string": func(v job.KV) error { _, err := v.AddString(ctx(), "add string", "s", "x"); return err },
			"increment multi": func(v job.KV) error {
				_, err := v.IncrementMulti(ctx(), "increment multi", map[string]float64{"a": 1})
				return err
			},
			"delete field": func(v job.KV) error {
				if _, err := s.Put(ctx(), "delete field", rec("a", 1, "b", 2)); err != nil {
					return err
				}
				_, err := v.Delete(ctx(), "delete field", "a")
				return err
			},
		}
		for name, write := range writes {
			if err := write(s.WithTTL(time.Hour)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			equal(t, name+" expiry", expiresAt(t, db, name), c.now().Add(time.Hour))
		}
		c.advance(time.Hour)
		for name := range writes {
			equal(t, name+" after its ttl", must[bool](t)(s.Exists(ctx(), name)), false)
		}
	})
}

func TestPatchTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		s := kv.New(db, c.opts())
		var seen []time.Duration
		patch := func(v job.KV, set *time.Duration) job.Record {
			t.Helper()
			prev, err := v.PatchTTL(ctx(), "k", func(p job.Record, ttl *time.Duration) (job.Record, error) {
				seen = append(seen, *ttl)
				if set != nil {
					*ttl = *set
				}
				return job.Merge(rec("n", len(seen)))(p)
			})
			if err != nil {
				t.Fatal(err)
			}
			return prev
		}
		ten, zero := 10*time.Second, time.Duration(0)
		equal(t, "previous of a new record", patch(s, &ten), job.Record{})
		equal(t, "expiry set by the update", expiresAt(t, db, "k"), c.now().Add(ten))
		c.advance(4 * time.Second)
		equal(t, "previous", patch(s, nil), rec("n", 1.0))
		equal(t, "expiry kept when the update leaves it", expiresAt(t, db, "k"), c.now().Add(6*time.Second))
		patch(s.WithTTL(time.Minute), nil)
		equal(t, "expiry of a store with ttl", expiresAt(t, db, "k"), c.now().Add(time.Minute))
		patch(s, &zero)
		equal(t, "expiry cleared by the update", expiresAt(t, db, "k"), time.Time{})
		patch(s, nil)
		equal(t, "ttls the update saw", seen, []time.Duration{0, 6 * time.Second, time.Minute, time.Minute, 0})
		c.advance(24 * time.Hour)
		equal(t, "record without expiry", must[job.Record](t)(s.Get(ctx(), "k")), rec("n", 5.0))
	})
}

func TestIncrementMulti(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		inc := must[map[string]float64](t)
		equal(t, "of a missing key", inc(s.IncrementMulti(ctx(), "c", map[string]float64{"a": 2, "b": -1})), map[string]float64{"a": 2, "b": -1})
		if _, err := s.Patch(ctx(), "c", job.Merge(rec("s", "5", "word", "x"))); err != nil {
			t.Fatal(err)
		}
		equal(t, "again", inc(s.IncrementMulti(ctx(), "c", map[string]float64{"a": 1, "s": 1, "new": 3})), map[string]float64{"a": 3, "s": 6, "new": 3})
		equal(t, "record", must[job.Record](t)(s.Get(ctx(), "c")), rec("a", 3.0, "b", -1.0, "s", 6.0, "new", 3.0, "word", "x"))
		// One field that is not a number: nothing is written.
		_, err := s.IncrementMulti(ctx(), "c", map[string]float64{"a": 1, "word": 1})
		wantErr(t, err, job.ErrNotNumber, `kv "c"`, `field "word"`)
		equal(t, "a after a refused increment", must[job.Record](t)(s.Get(ctx(), "c", "a")), rec("a", 3.0))
		equal(t, "no fields", inc(s.IncrementMulti(ctx(), "none", nil)), map[string]float64{})
		equal(t, "no fields created nothing", rowCount(t, db, kv.StoreKV, "none"), 0)
	})
}

func TestListOps(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		list := must[[]any](t)
		multi := must[map[string][]any](t)
		if err := s.Unshift(ctx(), "q", "l", "c"); err != nil {
			t.Fatal(err)
		}
		if err := s.Unshift(ctx(), "q", "l", "a", "b"); err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx(), "q", "l", "d"); err != nil {
			t.Fatal(err)
		}
		equal(t, "peek 1", list(s.Peek(ctx(), "q", "l", 1)), []any{"a"})
		equal(t, "peek past the end", list(s.Peek(ctx(), "q", "l", 10)), []any{"a", "b", "c", "d"})
		equal(t, "peek removed nothing", must[job.Record](t)(s.Get(ctx(), "q")), rec("l", []any{"a", "b", "c", "d"}))
		equal(t, "peek of a missing key", list(s.Peek(ctx(), "none", "l", 1)), []any(nil))
		equal(t, "peek of a missing field", list(s.Peek(ctx(), "q", "other", 1)), []any(nil))
		equal(t, "peek created nothing", rowCount(t, db, kv.StoreKV, "none"), 0)

		if err := s.AppendMulti(ctx(), "q", map[string][]any{"l": {"e"}, "m": {1, 2}, "empty": nil}); err != nil {
			t.Fatal(err)
		}
		if err := s.UnshiftMulti(ctx(), "q", map[string][]any{"l": {"z"}, "m": {0}}); err != nil {
			t.Fatal(err)
		}
		equal(t, "after multi", must[job.Record](t)(s.Get(ctx(), "q")), rec("l", []any{"z", "a", "b", "c", "d", "e"}, "m", []any{0.0, 1.0, 2.0}))
		equal(t, "peek multi", multi(s.PeekMulti(ctx(), "q", map[string]int{"l": 2, "m": 5, "missing": 3})),
			map[string][]any{"l": {"z", "a"}, "m": {0.0, 1.0, 2.0}, "missing": {}})
		equal(t, "shift multi", multi(s.ShiftMulti(ctx(), "q", map[string]int{"l": 2, "m": 1, "missing": 3})),
			map[string][]any{"l": {"z", "a"}, "m": {0.0}, "missing": {}})
		equal(t, "after shift multi", must[job.Record](t)(s.Get(ctx(), "q")), rec("l", []any{"b", "c", "d", "e"}, "m", []any{1.0, 2.0}))
		equal(t, "shift multi of a missing key", multi(s.ShiftMulti(ctx(), "none", map[string]int{"l": 1})), map[string][]any{"l": {}})
		equal(t, "shift multi created nothing", rowCount(t, db, kv.StoreKV, "none"), 0)
		equal(t, "peek multi of a missing key", multi(s.PeekMulti(ctx(), "none", map[string]int{"l": 1})), map[string][]any{"l": {}})

		// Wrong types: an error naming the field, and nothing written.
		if _, err := s.Patch(ctx(), "q", job.Merge(rec("n", 1, "set", job.NewSet("x")))); err != nil {
			t.Fatal(err)
		}
		before := must[job.Record](t)(s.Get(ctx(), "q"))
		wantErr(t, s.Unshift(ctx(), "q", "n", 1), job.ErrNotList, `kv "q"`, `field "n"`, "number")
		wantErr(t, s.AppendMulti(ctx(), "q", map[string][]any{"l": {"x"}, "set": {"y"}}), job.ErrNotList, `field "set"`, "string set")
		wantErr(t, s.UnshiftMulti(ctx(), "q", map[string][]any{"l": {"x"}, "n": {"y"}}), job.ErrNotList, `field "n"`)
		_, err := s.Peek(ctx(), "q", "n", 1)
		wantErr(t, err, job.ErrNotList, `field "n"`)
		_, err = s.PeekMulti(ctx(), "q", map[string]int{"l": 1, "n": 1})
		wantErr(t, err, job.ErrNotList, `field "n"`)
		_, err = s.ShiftMulti(ctx(), "q", map[string]int{"l": 1, "set": 1})
		wantErr(t, err, job.ErrNotList, `field "set"`)
		equal(t, "after refused list ops", must[job.Record](t)(s.Get(ctx(), "q")), before)
	})
}

func TestSets(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := kv.New(db, nil)
		ok := must[bool](t)
		nums := must[map[string]job.NumberSet](t)
		strs := must[map[string]job.StringSet](t)

		equal(t, "has on a missing key", ok(s.HasNumber(ctx(), "s", "n", 1)), false)
		equal(t, "remove on a missing key", ok(s.RemoveNumber(ctx(), "s", "n", 1)), false)
		equal(t, "remove string on a missing key", ok(s.RemoveString(ctx(), "s", "t", "a")), false)
		equal(t, "remove multi on a missing key", nums(s.RemoveNumberMulti(ctx(), "s", map[string][]float64{"n": {1}})), map[string]job.NumberSet{"n": {}})
		equal(t, "has/remove created nothing", rowCount(t, db, kv.StoreKV, "s"), 0)

		equal(t, "add", ok(s.AddNumber(ctx(), "s", "n", 1)), true)
		equal(t, "add again", ok(s.AddNumber(ctx(), "s", "n", 1)), false)
		equal(t, "has", ok(s.HasNumber(ctx(), "s", "n", 1)), true)
		equal(t, "has another", ok(s.HasNumber(ctx(), "s", "n", 2)), false)
		equal(t, "add multi", nums(s.AddNumberMulti(ctx(), "s", map[string][]float64{"n": {1, 2, 3}, "m": {-1.5}})),
			map[string]job.NumberSet{"n": job.NewSet(2.0, 3.0), "m": job.NewSet(-1.5)})
		equal(t, "has multi", nums(s.HasNumberMulti(ctx(), "s", map[string][]float64{"n": {3, 4}, "m": {9}, "missing": {1}})),
			map[string]job.NumberSet{"n": job.NewSet(3.0), "m": {}, "missing": {}})
		equal(t, "remove multi", nums(s.RemoveNumberMulti(ctx(), "s", map[string][]float64{"n": {1, 9}, "m": {-1.5}})),
			map[string]job.NumberSet{"n": job.NewSet(1.0), "m": job.NewSet(-1.5)})
		equal(t, "remove", ok(s.RemoveNumber(ctx(), "s", "n", 2)), true)
		equal(t, "remove again", ok(s.RemoveNumber(ctx(), "s", "n", 2)), false)

		equal(t, "add string", ok(s.AddString(ctx(), "s", "t", "a\u0000b")), true)
		equal(t, "has string", ok(s.HasString(ctx(), "s", "t", "a\u0000b")), true)
		equal(t, "add string multi", strs(s.AddStringMulti(ctx(), "s", map[string][]string{"t": {"a\u0000b", "é", "x"}})),
			map[string]job.StringSet{"t": job.NewSet("é", "x")})
		equal(t, "has string multi", strs(s.HasStringMulti(ctx(), "s", map[string][]string{"t": {"x", "y"}})), map[string]job.StringSet{"t": job.NewSet("x")})
		equal(t, "remove string multi", strs(s.RemoveStringMulti(ctx(), "s", map[string][]string{"t": {"x", "y"}})), map[string]job.StringSet{"t": job.NewSet("x")})
		equal(t, "remove string", ok(s.RemoveString(ctx(), "s", "t", "é")), true)

		// Sets read back as sets, and are stored as tagged JSON.
		equal(t, "record", must[job.Record](t)(s.Get(ctx(), "s")),
			rec("n", job.NewSet(3.0), "m", job.NumberSet{}, "t", job.NewSet("a\u0000b")))
		var raw string
		if err := db.QueryRowContext(ctx(), "SELECT value FROM kv_records WHERE store = 'kv' AND key = 's'").Scan(&raw); err != nil {
			t.Fatal(err)
		}
		equal(t, "stored", raw, `{"m":{"$numberSet":[]},"n":{"$numberSet":[3]},"t":{"$stringSet":["a\u0000b"]}}`)

		// Wrong types: a list, a number, the other kind of set.
		if _, err := s.Patch(ctx(), "s", job.Merge(rec("l", []any{1.0}, "x", 1))); err != nil {
			t.Fatal(err)
		}
		before := must[job.Record](t)(s.Get(ctx(), "s"))
		_, err := s.AddNumber(ctx(), "s", "l", 1)
		wantErr(t, err, job.ErrNotSet, `kv "s"`, `field "l"`, "holds a list, not a number set")
		_, err = s.HasNumber(ctx(), "s", "x", 1)
		wantErr(t, err, job.ErrNotSet, `field "x"`, "number")
		_, err = s.RemoveNumber(ctx(), "s", "l", 1)
		wantErr(t, err, job.ErrNotSet, `field "l"`)
		_, err = s.AddString(ctx(), "s", "n", "a")
		wantErr(t, err, job.ErrNotSet, `field "n"`, "holds a number set, not a string set")
		_, err = s.AddNumberMulti(ctx(), "s", map[string][]float64{"n": {7}, "t": {1}})
		wantErr(t, err, job.ErrNotSet, `field "t"`, "string set, not a number set")
		_, err = s.RemoveStringMulti(ctx(), "s", map[string][]string{"t": {"a\u0000b"}, "x": {"1"}})
		wantErr(t, err, job.ErrNotSet, `field "x"`)
		_, err = s.HasStringMulti(ctx(), "s", map[string][]string{"l": {"1"}})
		wantErr(t, err, job.ErrNotSet, `field "l"`)
		_, err = s.Increment(ctx(), "s", "n", 1)
		wantErr(t, err, job.ErrNotNumber, `field "n"`, "number set")

		// Values a set cannot keep as given are refused.
		_, err = s.AddNumber(ctx(), "s", "n", math.NaN())
		if err == nil {
			t.Fatal("NaN added to a number set")
		}
		_, err = s.AddString(ctx(), "s", "t", "\xed\xa0\x80") // a lone UTF-16 surrogate, as UTF-8 bytes
		if err == nil {
			t.Fatal("invalid UTF-8 added to a string set")
		}
		equal(t, "after refused set ops", must[job.Record](t)(s.Get(ctx(), "s")), before)
	})
}

// TestConcurrentListAndSetOps: the list and set operations are atomic, so
// concurrent writers through two stores lose nothing.
func TestConcurrentListAndSetOps(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		const n = 30
		stores := []*kv.KV{kv.New(db, nil), kv.New(db, nil)}
		var wg sync.WaitGroup
		errs := make(chan error, 4*n)
		for i := range n {
			s := stores[i%2]
			wg.Go(func() {
				if err := s.AppendMulti(ctx(), "k", map[string][]any{"l": {float64(i)}}); err != nil {
					errs <- err
				}
				if _, err := s.AddNumber(ctx(), "k", "set", float64(i)); err != nil {
					errs <- err
				}
				if _, err := s.IncrementMulti(ctx(), "k", map[string]float64{"a": 1, "b": 2}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		r := must[job.Record](t)(stores[0].Get(ctx(), "k"))
		if len(r["l"].([]any)) != n || len(r["set"].(job.NumberSet)) != n || r["a"] != float64(n) || r["b"] != float64(2*n) {
			t.Fatalf("record after %d concurrent writers: %v", n, r)
		}
		// Concurrent shifts hand out every value exactly once.
		got := make(chan []any, n)
		for i := range n {
			wg.Go(func() {
				v, err := stores[i%2].Shift(ctx(), "k", "l", 1)
				if err != nil {
					t.Error(err)
				}
				got <- v
			})
		}
		wg.Wait()
		close(got)
		seen := map[any]bool{}
		for v := range got {
			if len(v) != 1 || seen[v[0]] {
				t.Fatalf("shift gave %v (seen %v)", v, seen)
			}
			seen[v[0]] = true
		}
	})
}

// TestConcurrentPatchUpdaters: N parallel patch updaters adding 1, through
// two stores and with and without a ttl, give +N.
func TestConcurrentPatchUpdaters(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		const n = 30
		stores := []job.KV{kv.New(db, nil), kv.New(db, nil).WithTTL(time.Hour)}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := stores[i%2].PatchTTL(ctx(), "k", func(p job.Record, _ *time.Duration) (job.Record, error) {
					n, _ := p["n"].(float64)
					p["n"] = n + 1
					return p, nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		equal(t, "after parallel patches", must[job.Record](t)(stores[0].Get(ctx(), "k")), rec("n", float64(n)))
	})
}
