package kv

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// Store names, the values of kv_records.store.
const (
	StoreKV       = "kv"
	StoreSettings = "settings"
	StoreSecrets  = "secrets"
)

// MaxAttempts is how many times a write reads and tries to swap a record
// that other processes keep changing before it gives up.
const MaxAttempts = 10

// MaxKeyBytes is the longest key.
const MaxKeyBytes = 512

var (
	// ErrContention is a write that found the record changed on every
	// attempt.
	ErrContention = errors.New("record changed by another writer on every attempt")
	// ErrInvalidKey is an empty key or one longer than MaxKeyBytes.
	ErrInvalidKey = errors.New("key must be 1 to 512 bytes")
)

// Options tune a store. A nil *Options means all defaults.
type Options struct {
	// Now is the clock expiry is measured with. Default time.Now.
	Now func() time.Time
}

// Store is a store of records: settings or secrets (job.Store), and the
// base of KV.
type Store struct {
	db   store.Executor
	name string
	seal *sealer // secrets only
	now  func() time.Time
	// ttl, when positive, is the time to live every write gives the
	// record it writes (KV.WithTTL); else writes keep the expiry.
	ttl time.Duration
}

var _ job.Store = (*Store)(nil)

// NewSettings returns the settings store.
func NewSettings(db store.Executor, opts *Options) *Store {
	return newStore(db, StoreSettings, nil, opts)
}

func newStore(db store.Executor, name string, seal *sealer, opts *Options) *Store {
	s := &Store{db: db, name: name, seal: seal, now: time.Now}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	return s
}

// KeyInfo describes a stored record without its values.
type KeyInfo struct {
	Key       string    `json:"key"`
	Fields    []string  `json:"fields"`
	UpdatedAt time.Time `json:"updated_at"`
}

// row is a record as read, with what a compare-and-swap needs.
type row struct {
	rec     job.Record
	data    []byte       // rec as JSON; nil when missing
	version int64        // 0: no row
	expires sql.NullTime // the expiry to keep on write; not valid once passed
	expired bool
}

func (s *Store) checkKey(key string) error {
	if key == "" || len(key) > MaxKeyBytes {
		return fmt.Errorf("%s key %q: %w", s.name, truncate(key), ErrInvalidKey)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// read returns the record under key; a missing or expired one has an empty
// rec.
func (s *Store) read(ctx context.Context, key string) (row, error) {
	if err := s.checkKey(key); err != nil {
		return row{}, err
	}
	var (
		r   row
		val string
	)
	err := s.db.QueryRowContext(ctx, s.db.Query("KVGet"), s.name, key).Scan(&val, &r.version, &r.expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return row{rec: job.Record{}}, nil
	case err != nil:
		return row{}, fmt.Errorf("%s %q: read: %w", s.name, key, err)
	}
	if r.expires.Valid && !s.now().Before(r.expires.Time) {
		r.expired, r.expires, r.rec = true, sql.NullTime{}, job.Record{}
		// r.data stays nil: the record is gone.
		return r, nil
	}
	r.data, err = s.plaintext(key, val)
	if err == nil {
		r.rec, err = decode(s.name, key, r.data)
	}
	return r, err
}

// get reads a record and deletes it when it has expired.
func (s *Store) get(ctx context.Context, key string) (row, error) {
	r, err := s.read(ctx, key)
	if err == nil && r.expired {
		// Best effort: a failure leaves the row to the next read or
		// DeleteExpired, and the record reads as missing either way.
		_, _ = s.db.ExecContext(ctx, s.db.Query("KVDelete"), s.name, key, r.version)
	}
	return r, err
}

// plaintext returns the record's JSON from the stored value.
func (s *Store) plaintext(key, val string) ([]byte, error) {
	if s.seal == nil {
		return []byte(val), nil
	}
	return s.seal.open(s.name, key, val)
}

func decode(storeName, key string, data []byte) (job.Record, error) {
	var rec job.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s %q: decode: %w", storeName, key, err)
	}
	if rec == nil {
		rec = job.Record{}
	}
	for f, v := range rec {
		if set, ok := job.DecodeSet(v); ok {
			rec[f] = set
		}
	}
	return rec, nil
}

// encode returns the stored form of a record, refusing one beyond
// job.MaxRecordBytes.
func (s *Store) encode(key string, rec job.Record) (string, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("%s %q: encode: %w", s.name, key, err)
	}
	if len(data) > job.MaxRecordBytes {
		return "", fmt.Errorf("%s %q: %d bytes as JSON, over %d: %w", s.name, key, len(data), job.MaxRecordBytes, job.ErrTooLarge)
	}
	if s.seal == nil {
		return string(data), nil
	}
	return s.seal.seal(s.name, key, data)
}

// Get returns the record, or only the named fields of it; a missing key
// answers an empty record.
func (s *Store) Get(ctx context.Context, key string, fields ...string) (job.Record, error) {
	r, err := s.get(ctx, key)
	if err != nil || len(fields) == 0 {
		return r.rec, err
	}
	out := job.Record{}
	for _, f := range fields {
		if v, ok := r.rec[f]; ok {
			out[f] = v
		}
	}
	return out, nil
}

// Exists reports whether the key holds a record.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	r, err := s.get(ctx, key)
	return len(r.rec) > 0, err
}

// Put replaces the record and returns the previous one; an empty value
// deletes the key.
func (s *Store) Put(ctx context.Context, key string, value job.Record) (job.Record, error) {
	return s.mutate(ctx, key, func(job.Record) (job.Record, error) { return value, nil })
}

// Patch writes what update returns for the current record, atomically, and
// returns the record as it was before; see the package doc on
// compare-and-swap. update gets its own copy of the record.
func (s *Store) Patch(ctx context.Context, key string, update func(prev job.Record) (job.Record, error)) (job.Record, error) {
	return s.mutate(ctx, key, update)
}

// Delete removes the record, or only the named fields of it, and returns
// what was removed.
func (s *Store) Delete(ctx context.Context, key string, fields ...string) (job.Record, error) {
	var removed job.Record
	_, err := s.mutate(ctx, key, func(cur job.Record) (job.Record, error) {
		removed = job.Record{}
		if len(fields) == 0 {
			removed = cur
			return nil, nil
		}
		for _, f := range fields {
			if v, ok := cur[f]; ok {
				removed[f] = v
				delete(cur, f)
			}
		}
		if len(removed) == 0 {
			return nil, errNoChange
		}
		return cur, nil
	})
	return removed, err
}

// Keys lists the stored records by key, with their field names, never
// their values.
func (s *Store) Keys(ctx context.Context) ([]KeyInfo, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Query("KVList"), s.name, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("%s: list: %w", s.name, err)
	}
	defer rows.Close()
	out := []KeyInfo{}
	for rows.Next() {
		var (
			k   KeyInfo
			val string
		)
		if err := rows.Scan(&k.Key, &val, &k.UpdatedAt); err != nil {
			return nil, fmt.Errorf("%s: list: %w", s.name, err)
		}
		data, err := s.plaintext(k.Key, val)
		if err != nil {
			return nil, err
		}
		rec, err := decode(s.name, k.Key, data)
		if err != nil {
			return nil, err
		}
		k.Fields = FieldNames(rec)
		k.UpdatedAt = k.UpdatedAt.UTC()
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: list: %w", s.name, err)
	}
	return out, nil
}

// FieldNames lists the fields of a record, sorted.
func FieldNames(rec job.Record) []string {
	names := make([]string, 0, len(rec))
	for f := range rec {
		names = append(names, f)
	}
	sort.Strings(names)
	return names
}

// errNoChange from a mutate function means there is nothing to write.
var errNoChange = errors.New("no change")

// mutate is the compare-and-swap loop every write goes through: it reads
// the record, calls fn with a copy, and writes what fn returns if the
// record's version is still the one read, else starts over. It returns the
// record as it was before the write.
func (s *Store) mutate(ctx context.Context, key string, fn func(cur job.Record) (job.Record, error)) (job.Record, error) {
	return s.mutateExpiry(ctx, key, func(cur job.Record, _ *sql.NullTime) (job.Record, error) { return fn(cur) })
}

// mutateExpiry is mutate whose fn also gets the expiry the write gives
// the record, to change at will: now plus the store's ttl, else the
// record's own.
func (s *Store) mutateExpiry(ctx context.Context, key string, fn func(cur job.Record, expires *sql.NullTime) (job.Record, error)) (job.Record, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	if s.seal != nil && s.seal.aead == nil {
		return nil, fmt.Errorf("%s %q: %w", s.name, key, ErrNoSecretKey)
	}
	unlock, err := keyLocks.lock(ctx, s.name+"\x00"+key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		prev, err := s.read(ctx, key)
		if err != nil {
			return nil, err
		}
		cur := job.Record{} // fn's own copy, to change at will
		if prev.data != nil {
			if cur, err = decode(s.name, key, prev.data); err != nil {
				return nil, err
			}
		}
		expires := prev.expires
		if s.ttl > 0 {
			expires = sql.NullTime{Time: s.now().UTC().Add(s.ttl), Valid: true}
		}
		next, err := fn(cur, &expires)
		if errors.Is(err, errNoChange) {
			return prev.rec, nil
		}
		if err != nil {
			return nil, err
		}
		swapped, err := s.swap(ctx, key, prev, next, expires)
		if err != nil {
			return nil, err
		}
		if swapped {
			return prev.rec, nil
		}
		if attempt == MaxAttempts {
			return nil, fmt.Errorf("%s %q: %d attempts: %w", s.name, key, attempt, ErrContention)
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// swap writes next, expiring at expires, in place of prev if the version
// is unchanged, and reports whether it did.
func (s *Store) swap(ctx context.Context, key string, prev row, next job.Record, expires sql.NullTime) (bool, error) {
	now := s.now().UTC()
	var (
		res sql.Result
		err error
	)
	switch {
	case len(next) == 0 && prev.version == 0:
		return true, nil
	case len(next) == 0:
		res, err = s.db.ExecContext(ctx, s.db.Query("KVDelete"), s.name, key, prev.version)
	default:
		val, encErr := s.encode(key, next)
		if encErr != nil {
			return false, encErr
		}
		if prev.version == 0 {
			res, err = s.db.ExecContext(ctx, s.db.Query("KVInsert"), s.name, key, val, newVersion(), now, expires)
		} else {
			res, err = s.db.ExecContext(ctx, s.db.Query("KVUpdate"), s.name, key, val, newVersion(), now, prev.version, expires)
		}
	}
	if isConflict(err) || (prev.version == 0 && isDuplicate(err)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s %q: write: %w", s.name, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s %q: write: %w", s.name, key, err)
	}
	return n == 1, nil
}

// isConflict reports a DuckDB transaction conflict: another connection
// changed the row at the same time.
func isConflict(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && de.Type == duckdb.ErrorTypeTransaction
}

// isDuplicate reports a DuckDB primary key violation: DuckDB raises one
// instead of doing nothing when another transaction inserted the same key
// and has not committed yet.
func isDuplicate(err error) bool {
	var de *duckdb.Error
	return errors.As(err, &de) && de.Type == duckdb.ErrorTypeConstraint
}

// newVersion returns a random positive version.
func newVersion() int64 {
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1
}

// backoff waits a little, more after each lost race, with jitter so that
// the writers of several processes spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(attempt) * time.Millisecond
	d += rand.N(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
