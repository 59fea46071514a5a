package kv

import (
	"context"
	"database/sql"
	"fmt"
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
	var sum float64
	_, err := kv.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		n, err := number(cur[field])
		if err != nil {
			return nil, fmt.Errorf("%s %q: increment field %q: %w", kv.name, key, field, err)
		}
		sum = n + amount
		cur[field] = sum
		return cur, nil
	})
	return sum, err
}

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
	}
	return "null"
}

// Append adds values at the end of a list field, creating the record and
// the field if needed; a field holding something else is job.ErrNotList.
func (kv *KV) Append(ctx context.Context, key, field string, values ...any) error {
	_, err := kv.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		list, err := kv.list(key, field, cur[field])
		if err != nil {
			return nil, err
		}
		cur[field] = append(list, values...)
		return cur, nil
	})
	return err
}

// Shift removes and returns up to n values from the front of a list field.
// A missing key or field gives none and creates nothing; a field holding
// something else than a list is job.ErrNotList.
func (kv *KV) Shift(ctx context.Context, key, field string, n int) ([]any, error) {
	var out []any
	_, err := kv.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		out = nil
		list, err := kv.list(key, field, cur[field])
		if err != nil {
			return nil, err
		}
		if len(list) == 0 || n <= 0 {
			return nil, errNoChange
		}
		n := min(n, len(list))
		out = list[:n:n]
		cur[field] = list[n:]
		return cur, nil
	})
	if err != nil {
		return nil, err
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
