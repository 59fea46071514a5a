package kv

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// KV is the job key-value store (job.KV): a Store whose records can
// expire, with counters and lists.
type KV struct {
	Store
}

var _ job.KV = (*KV)(nil)

// New returns the kv store.
func New(db store.Executor, opts *Options) *KV {
	return &KV{Store: *newStore(db, StoreKV, nil, opts)}
}

// ForJob is the kv store of one job, its Env.KV: its records are apart
// from the shared store's (the one New returns, Env.SharedKV) and from
// every other job's.
func (kv *KV) ForJob(name string) *KV {
	view := *kv
	view.name = StoreKV + ":" + name
	return &view
}

// WithTTL is the store whose writes make the records they write expire
// ttl from the write; a ttl of 0 or less gives the store whose writes
// keep the expiry.
func (kv *KV) WithTTL(ttl time.Duration) job.KV {
	view := *kv
	view.ttl = max(ttl, 0)
	return &view
}

// PatchTTL is Patch whose update also gets, and may change, the time to
// live the write gives the record (0: none); see job.KV.
func (kv *KV) PatchTTL(ctx context.Context, key string, update func(prev job.Record, ttl *time.Duration) (job.Record, error)) (job.Record, error) {
	return kv.mutateExpiry(ctx, key, func(cur job.Record, expires *sql.NullTime) (job.Record, error) {
		now := kv.now().UTC()
		var ttl time.Duration
		if expires.Valid {
			ttl = expires.Time.Sub(now)
		}
		next, err := update(cur, &ttl)
		*expires = sql.NullTime{}
		if ttl > 0 {
			*expires = sql.NullTime{Time: now.Add(ttl), Valid: true}
		}
		return next, err
	})
}

// Expire makes the record expire ttl from now; a ttl of 0 keeps it for
// ever and a negative one expires it at once. It reports whether the key
// holds a record.
func (kv *KV) Expire(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := kv.checkKey(key); err != nil {
		return false, err
	}
	unlock, err := keyLocks.lock(ctx, kv.name+"\x00"+key)
	if err != nil {
		return false, err
	}
	defer unlock()
	now := kv.now().UTC()
	var at sql.NullTime
	if ttl != 0 {
		at = sql.NullTime{Time: now.Add(ttl), Valid: true}
	}
	for attempt := 1; ; attempt++ {
		res, err := kv.db.ExecContext(ctx, kv.db.Query("KVExpire"), kv.name, key, at, newVersion(), now)
		if isConflict(err) && attempt < MaxAttempts {
			if err := backoff(ctx, attempt); err != nil {
				return false, err
			}
			continue
		}
		if err != nil {
			return false, fmt.Errorf("%s %q: expire: %w", kv.name, key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, fmt.Errorf("%s %q: expire: %w", kv.name, key, err)
		}
		return n == 1, nil
	}
}

// DeleteExpired deletes the expired records of every key and returns how
// many it deleted. Reads never need it; it reclaims the space of keys
// that are not read again.
func (kv *KV) DeleteExpired(ctx context.Context) (int64, error) {
	res, err := kv.db.ExecContext(ctx, kv.db.Query("KVDeleteExpired"), kv.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("kv: delete expired: %w", err)
	}
	return res.RowsAffected()
}

// Increment adds amount to a numeric field and returns the new value. A
// missing field counts as 0 and a string holding a number as that number;
// anything else is job.ErrNotNumber.
func (kv *KV) Increment(ctx context.Context, key, field string, amount float64) (float64, error) {
	sums, err := kv.IncrementMulti(ctx, key, map[string]float64{field: amount})
	return sums[field], err
}

// IncrementMulti increments several fields in one write and returns their
// new values; when one field is not a number, nothing is written.
func (kv *KV) IncrementMulti(ctx context.Context, key string, amounts map[string]float64) (map[string]float64, error) {
	sums := make(map[string]float64, len(amounts))
	_, err := kv.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		for _, field := range sortedFields(amounts) {
			n, err := number(cur[field])
			if err != nil {
				return nil, fmt.Errorf("%s %q: increment field %q: %w", kv.name, key, field, err)
			}
			sums[field] = n + amounts[field]
			cur[field] = sums[field]
		}
		if len(amounts) == 0 {
			return nil, errNoChange
		}
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	return sums, nil
}

// sortedFields are the fields of a Multi argument in order, so that the
// error of a write with several bad fields is always the same.
func sortedFields[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func number(v any) (float64, error) {
	switch n := v.(type) {
	case nil:
		return 0, nil
	case float64:
		return n, nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil {
			return f, nil
		}
		return 0, fmt.Errorf("holds the string %q: %w", truncate(n), job.ErrNotNumber)
	}
	return 0, fmt.Errorf("holds a %s: %w", jsonType(v), job.ErrNotNumber)
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	case job.NumberSet, job.StringSet:
		return v.(interface{ Kind() string }).Kind()
	}
	return "null"
}

// Append adds values at the end of a list field, creating the record and
// the field if needed; a field holding something else is job.ErrNotList.
func (kv *KV) Append(ctx context.Context, key, field string, values ...any) error {
	return kv.AppendMulti(ctx, key, map[string][]any{field: values})
}

// AppendMulti appends to several list fields in one write.
func (kv *KV) AppendMulti(ctx context.Context, key string, values map[string][]any) error {
	return kv.insert(ctx, key, values, func(list, vals []any) []any { return append(list, vals...) })
}

// Unshift adds values, in their order, at the front of a list field,
// creating the record and the field if needed.
func (kv *KV) Unshift(ctx context.Context, key, field string, values ...any) error {
	return kv.UnshiftMulti(ctx, key, map[string][]any{field: values})
}

// UnshiftMulti unshifts into several list fields in one write.
func (kv *KV) UnshiftMulti(ctx context.Context, key string, values map[string][]any) error {
	return kv.insert(ctx, key, values, func(list, vals []any) []any { return append(slices.Clone(vals), list...) })
}

// insert adds values to list fields with add; fields given no values are
// left as they are.
func (kv *KV) insert(ctx context.Context, key string, values map[string][]any, add func(list, vals []any) []any) error {
	_, err := kv.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		changed := false
		for _, field := range sortedFields(values) {
			list, err := kv.list(key, field, cur[field])
			if err != nil {
				return nil, err
			}
			if len(values[field]) > 0 {
				cur[field], changed = add(list, values[field]), true
			}
		}
		if !changed {
			return nil, errNoChange
		}
		return cur, nil
	})
	return err
}

// Shift removes and returns up to n values from the front of a list field.
// A missing key or field gives none and creates nothing; a field holding
// something else than a list is job.ErrNotList.
func (kv *KV) Shift(ctx context.Context, key, field string, n int) ([]any, error) {
	return oneField(field)(kv.ShiftMulti(ctx, key, map[string]int{field: n}))
}

// oneField picks a field's values from the answer of a Multi form: none
// as nil, as Shift always answered.
func oneField(field string) func(map[string][]any, error) ([]any, error) {
	return func(out map[string][]any, err error) ([]any, error) {
		if err != nil || len(out[field]) == 0 {
			return nil, err
		}
		return out[field], nil
	}
}

// ShiftMulti shifts up to counts[field] values from each field in one
// write; every field asked for is in the answer.
func (kv *KV) ShiftMulti(ctx context.Context, key string, counts map[string]int) (map[string][]any, error) {
	var out map[string][]any
	_, err := kv.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		var err error
		if out, err = kv.front(key, cur, counts, true); err != nil {
			return nil, err
		}
		for _, vals := range out {
			if len(vals) > 0 {
				return cur, nil
			}
		}
		return nil, errNoChange
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Peek returns up to n values from the front of a list field without
// removing them; errors as for Shift.
func (kv *KV) Peek(ctx context.Context, key, field string, n int) ([]any, error) {
	return oneField(field)(kv.PeekMulti(ctx, key, map[string]int{field: n}))
}

// PeekMulti peeks at several list fields of one read.
func (kv *KV) PeekMulti(ctx context.Context, key string, counts map[string]int) (map[string][]any, error) {
	r, err := kv.get(ctx, key)
	if err != nil {
		return nil, err
	}
	return kv.front(key, r.rec, counts, false)
}

// front takes up to counts[field] values from the front of each list field
// of rec, removing them when remove.
func (kv *KV) front(key string, rec job.Record, counts map[string]int, remove bool) (map[string][]any, error) {
	out := make(map[string][]any, len(counts))
	for _, field := range sortedFields(counts) {
		list, err := kv.list(key, field, rec[field])
		if err != nil {
			return nil, err
		}
		n := min(max(counts[field], 0), len(list))
		out[field] = append([]any{}, list[:n]...)
		if remove && n > 0 {
			rec[field] = list[n:]
		}
	}
	return out, nil
}

func (kv *KV) list(key, field string, v any) ([]any, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return l, nil
	}
	return nil, fmt.Errorf("%s %q: field %q holds a %s: %w", kv.name, key, field, jsonType(v), job.ErrNotList)
}
