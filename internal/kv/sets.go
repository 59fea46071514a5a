package kv

import (
	"context"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/weftdata/weft/job"
)

// setOp is what a set operation does to one value of a set, and whether
// the value counts as affected (added, removed, present).
type setOp[T float64 | string] func(set job.Set[T], v T) bool

func addOp[T float64 | string](set job.Set[T], v T) bool {
	if set.Has(v) {
		return false
	}
	set[v] = struct{}{}
	return true
}

func removeOp[T float64 | string](set job.Set[T], v T) bool {
	if !set.Has(v) {
		return false
	}
	delete(set, v)
	return true
}

func hasOp[T float64 | string](set job.Set[T], v T) bool { return set.Has(v) }

// setMulti applies op to the values of each set field of the record, in
// one atomic write (or, unless write, one read), and returns per field the
// values op affected. A field is written only when a value was affected,
// so that only adds create sets; when one field holds something else than
// a set of this kind, nothing is written.
func setMulti[T float64 | string](ctx context.Context, kv *KV, key string, values map[string][]T, op setOp[T], write bool) (map[string]job.Set[T], error) {
	for _, field := range sortedFields(values) {
		for _, v := range values[field] {
			if err := checkMember(v); err != nil {
				return nil, fmt.Errorf("%s %q: field %q: %w", kv.name, key, field, err)
			}
		}
	}
	var out map[string]job.Set[T]
	apply := func(cur job.Record) (bool, error) {
		out = make(map[string]job.Set[T], len(values))
		changed := false
		for _, field := range sortedFields(values) {
			set, err := setField[T](kv, key, field, cur[field])
			if err != nil {
				return false, err
			}
			affected := job.NewSet[T]()
			for _, v := range values[field] {
				if op(set, v) {
					affected[v] = struct{}{}
				}
			}
			out[field] = affected
			if len(affected) > 0 {
				cur[field], changed = set, true
			}
		}
		return changed, nil
	}
	if !write {
		r, err := kv.get(ctx, key)
		if err != nil {
			return nil, err
		}
		_, err = apply(r.rec)
		return out, err
	}
	_, err := kv.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		changed, err := apply(cur)
		if err == nil && !changed {
			err = errNoChange
		}
		return cur, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkMember refuses what a set cannot keep as given: numbers JSON
// cannot hold and strings that are not UTF-8 (JSON would store another
// string, which the set would then not have).
func checkMember(v any) error {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%v cannot be stored in a number set", v)
		}
	case string:
		if !utf8.ValidString(v) {
			return fmt.Errorf("%q is not valid UTF-8 and cannot be stored in a string set", truncate(v))
		}
	}
	return nil
}

// setField returns the set a field holds (a new one when missing); a
// field holding something else is job.ErrNotSet.
func setField[T float64 | string](kv *KV, key, field string, v any) (job.Set[T], error) {
	switch set := v.(type) {
	case nil:
		return job.NewSet[T](), nil
	case job.Set[T]:
		return set, nil
	}
	return nil, fmt.Errorf("%s %q: field %q holds a %s, not a %s: %w", kv.name, key, field, jsonType(v), job.Set[T]{}.Kind(), job.ErrNotSet)
}

// setOne is a set operation on one value of one field.
func setOne[T float64 | string](ctx context.Context, kv *KV, key, field string, v T, op setOp[T], write bool) (bool, error) {
	out, err := setMulti(ctx, kv, key, map[string][]T{field: {v}}, op, write)
	return out[field].Has(v), err
}

// AddNumber adds a number to a NumberSet field, creating the record and
// the field if needed, and reports whether it was new.
func (kv *KV) AddNumber(ctx context.Context, key, field string, v float64) (bool, error) {
	return setOne(ctx, kv, key, field, v, addOp, true)
}

// AddNumberMulti adds numbers to NumberSet fields in one write and
// returns, per field, those that were new.
func (kv *KV) AddNumberMulti(ctx context.Context, key string, values map[string][]float64) (map[string]job.NumberSet, error) {
	return setMulti(ctx, kv, key, values, addOp, true)
}

// RemoveNumber removes a number from a NumberSet field and reports whether
// it was there; it never creates a record.
func (kv *KV) RemoveNumber(ctx context.Context, key, field string, v float64) (bool, error) {
	return setOne(ctx, kv, key, field, v, removeOp, true)
}

// RemoveNumberMulti removes numbers from NumberSet fields in one write and
// returns, per field, those that were there.
func (kv *KV) RemoveNumberMulti(ctx context.Context, key string, values map[string][]float64) (map[string]job.NumberSet, error) {
	return setMulti(ctx, kv, key, values, removeOp, true)
}

// HasNumber reports whether a NumberSet field holds a number.
func (kv *KV) HasNumber(ctx context.Context, key, field string, v float64) (bool, error) {
	return setOne(ctx, kv, key, field, v, hasOp, false)
}

// HasNumberMulti returns, per field, the numbers its NumberSet holds.
func (kv *KV) HasNumberMulti(ctx context.Context, key string, values map[string][]float64) (map[string]job.NumberSet, error) {
	return setMulti(ctx, kv, key, values, hasOp, false)
}

// AddString is AddNumber for StringSet fields.
func (kv *KV) AddString(ctx context.Context, key, field string, v string) (bool, error) {
	return setOne(ctx, kv, key, field, v, addOp, true)
}

// AddStringMulti is AddNumberMulti for StringSet fields.
func (kv *KV) AddStringMulti(ctx context.Context, key string, values map[string][]string) (map[string]job.StringSet, error) {
	return setMulti(ctx, kv, key, values, addOp, true)
}

// RemoveString is RemoveNumber for StringSet fields.
func (kv *KV) RemoveString(ctx context.Context, key, field string, v string) (bool, error) {
	return setOne(ctx, kv, key, field, v, removeOp, true)
}

// RemoveStringMulti is RemoveNumberMulti for StringSet fields.
func (kv *KV) RemoveStringMulti(ctx context.Context, key string, values map[string][]string) (map[string]job.StringSet, error) {
	return setMulti(ctx, kv, key, values, removeOp, true)
}

// HasString is HasNumber for StringSet fields.
func (kv *KV) HasString(ctx context.Context, key, field string, v string) (bool, error) {
	return setOne(ctx, kv, key, field, v, hasOp, false)
}

// HasStringMulti is HasNumberMulti for StringSet fields.
func (kv *KV) HasStringMulti(ctx context.Context, key string, values map[string][]string) (map[string]job.StringSet, error) {
	return setMulti(ctx, kv, key, values, hasOp, false)
}
