package job

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"
)

// ErrNotSet is a set operation on a field that holds something else than
// a set of that kind.
var ErrNotSet = errors.New("field is not a set")

// KV is the job key-value store: a Store whose records can expire, with
// atomic counters, lists and sets, as OCP's kvStore. Every write is
// atomic; the Multi forms change several fields of one record in one
// write, and refuse the whole write when one field has the wrong type.
type KV interface {
	Store
	// Expire makes the record expire ttl from now (a ttl of 0 keeps it
	// for ever); an expired record reads as missing. Writes keep the
	// expiry a record has. It reports whether the key exists.
	Expire(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// WithTTL is the same store, whose writes make the records they
	// write expire ttl from the write (OCP's {ttl} option on a write). A
	// ttl of 0 or less gives the store whose writes keep the expiry.
	WithTTL(ttl time.Duration) KV
	// PatchTTL is Patch whose update also gets the time to live the
	// write will give the record: the store's (WithTTL), else what the
	// record has left (0: none). The update may change it; what it
	// leaves is written (0: the record does not expire).
	PatchTTL(ctx context.Context, key string, update func(prev Record, ttl *time.Duration) (Record, error)) (Record, error)

	// Increment adds amount to a numeric field (missing counts as 0, a
	// numeric string as its number, anything else is ErrNotNumber) and
	// returns the new value.
	Increment(ctx context.Context, key, field string, amount float64) (float64, error)
	// IncrementMulti increments several fields at once and returns their
	// new values.
	IncrementMulti(ctx context.Context, key string, amounts map[string]float64) (map[string]float64, error)

	// Append adds values at the end of a list field, creating it; a field
	// holding something else is ErrNotList.
	Append(ctx context.Context, key, field string, values ...any) error
	// AppendMulti appends to several list fields at once.
	AppendMulti(ctx context.Context, key string, values map[string][]any) error
	// Unshift adds values, in their order, at the front of a list field,
	// creating it.
	Unshift(ctx context.Context, key, field string, values ...any) error
	// UnshiftMulti unshifts into several list fields at once.
	UnshiftMulti(ctx context.Context, key string, values map[string][]any) error
	// Shift removes and returns up to n values from the front of a list
	// field; a missing key or field gives none and creates nothing.
	Shift(ctx context.Context, key, field string, n int) ([]any, error)
	// ShiftMulti shifts up to counts[field] values from each field; every
	// field asked for is in the answer, empty when it had none.
	ShiftMulti(ctx context.Context, key string, counts map[string]int) (map[string][]any, error)
	// Peek returns up to n values from the front of a list field without
	// removing them.
	Peek(ctx context.Context, key, field string, n int) ([]any, error)
	// PeekMulti peeks at several list fields, as ShiftMulti shifts.
	PeekMulti(ctx context.Context, key string, counts map[string]int) (map[string][]any, error)

	// AddNumber adds a number to a NumberSet field, creating it, and
	// reports whether it was new; a field holding something else is
	// ErrNotSet. Remove and Has never create a record; Has reports
	// membership. The Multi forms answer, per field, the values actually
	// added, removed or present.
	AddNumber(ctx context.Context, key, field string, value float64) (bool, error)
	AddNumberMulti(ctx context.Context, key string, values map[string][]float64) (map[string]NumberSet, error)
	RemoveNumber(ctx context.Context, key, field string, value float64) (bool, error)
	RemoveNumberMulti(ctx context.Context, key string, values map[string][]float64) (map[string]NumberSet, error)
	HasNumber(ctx context.Context, key, field string, value float64) (bool, error)
	HasNumberMulti(ctx context.Context, key string, values map[string][]float64) (map[string]NumberSet, error)
	// AddString and the others are the same for StringSet fields.
	AddString(ctx context.Context, key, field string, value string) (bool, error)
	AddStringMulti(ctx context.Context, key string, values map[string][]string) (map[string]StringSet, error)
	RemoveString(ctx context.Context, key, field string, value string) (bool, error)
	RemoveStringMulti(ctx context.Context, key string, values map[string][]string) (map[string]StringSet, error)
	HasString(ctx context.Context, key, field string, value string) (bool, error)
	HasStringMulti(ctx context.Context, key string, values map[string][]string) (map[string]StringSet, error)
}

// Set is a set of numbers or strings kept in a field of a KV record
// (NumberSet, StringSet). It is stored as a JSON object with one member,
// "$numberSet" or "$stringSet", holding the sorted values, and read back
// as a Set; lists cannot hold sets.
type Set[T float64 | string] map[T]struct{}

// NumberSet and StringSet are OCP's NumberSet and StringSet.
type (
	NumberSet = Set[float64]
	StringSet = Set[string]
)

const (
	numberSetMember = "$numberSet"
	stringSetMember = "$stringSet"
)

// NewSet returns the set of values.
func NewSet[T float64 | string](values ...T) Set[T] {
	s := make(Set[T], len(values))
	for _, v := range values {
		s[v] = struct{}{}
	}
	return s
}

// Has reports whether v is in the set.
func (s Set[T]) Has(v T) bool {
	_, ok := s[v]
	return ok
}

// Values are the members, sorted.
func (s Set[T]) Values() []T { return slices.Sorted(maps.Keys(s)) }

// Kind is "number set" or "string set", for errors.
func (s Set[T]) Kind() string {
	if _, ok := any(s).(NumberSet); ok {
		return "number set"
	}
	return "string set"
}

// member is the JSON member the set is stored under.
func (s Set[T]) member() string {
	if _, ok := any(s).(NumberSet); ok {
		return numberSetMember
	}
	return stringSetMember
}

// MarshalJSON stores the set as {"$numberSet": [...]} or
// {"$stringSet": [...]}.
func (s Set[T]) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string][]T{s.member(): append([]T{}, s.Values()...)})
}

// DecodeSet returns the Set a value decoded from JSON stands for, when it
// is a set's stored form ({"$numberSet": [numbers]} or {"$stringSet":
// [strings]}).
func DecodeSet(v any) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, false
	}
	if l, ok := m[numberSetMember].([]any); ok {
		return setOf[float64](l)
	}
	if l, ok := m[stringSetMember].([]any); ok {
		return setOf[string](l)
	}
	return nil, false
}

func setOf[T float64 | string](list []any) (Set[T], bool) {
	s := make(Set[T], len(list))
	for _, v := range list {
		t, ok := v.(T)
		if !ok {
			return nil, false
		}
		s[t] = struct{}{}
	}
	return s, true
}
