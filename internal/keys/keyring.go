package keys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weftdata/weft/internal/store"
)

// Defaults of Options.
const (
	// RefreshDefault is how stale the cached live keys may be: the delay
	// before a key created or revoked through another process sharing
	// the database counts.
	RefreshDefault = time.Second
	// TouchDefault is how often a key's last use is written.
	TouchDefault = time.Minute
)

// prefixLen is how much of a key is kept to recognise it: "weft_" and 8
// characters, 48 of its 256 bits.
const prefixLen = len(Prefix) + 8

// Options tune a Keyring. A nil *Options means all defaults.
type Options struct {
	// Bootstrap are the admin keys of the command line (--api-key,
	// WEFT_API_KEYS), checked like stored keys, by hash.
	Bootstrap []string
	// Refresh bounds the age of the cached live keys. Default
	// RefreshDefault.
	Refresh time.Duration
	// Touch is how often a key's last use is written. Default
	// TouchDefault.
	Touch time.Duration
	// Now is the clock. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Keyring is the key store with the bootstrap keys: what requests are
// checked against.
type Keyring struct {
	db        store.Executor // nil: no stored keys (bootstrap only)
	refresh   time.Duration
	touch     time.Duration
	now       func() time.Time
	log       *slog.Logger
	bootstrap []entry

	// snap is the cache of live keys, read without a lock on every
	// check; reloadMu makes one request reload it while the others wait.
	snap     atomic.Pointer[snapshot]
	reloadMu sync.Mutex
	touched  sync.Map // key id: *atomic.Int64, unix µs of the last use written
}

// snapshot is the live keys as loaded at a time; loaded is zero when a
// change made here asks for a reload.
type snapshot struct {
	live   []entry
	loaded time.Time
}

// entry is a key with the hash it is checked by.
type entry struct {
	hash [sha256.Size]byte
	key  *Key
}

// New returns the keyring over db (nil for bootstrap keys only).
func New(db store.Executor, opts *Options) *Keyring {
	var o Options
	if opts != nil {
		o = *opts
	}
	r := &Keyring{db: db, refresh: o.Refresh, touch: o.Touch, now: o.Now, log: o.Logger}
	if r.refresh <= 0 {
		r.refresh = RefreshDefault
	}
	if r.touch <= 0 {
		r.touch = TouchDefault
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	for _, k := range o.Bootstrap {
		r.bootstrap = append(r.bootstrap, entry{Hash(k), &Key{Name: NameBootstrap, Scopes: []string{ScopeAdmin}, Sources: []string{}, AllowedOrigins: []string{}}})
	}
	return r
}

// Hash is what a key is stored and compared as. It hashes the string's own
// bytes: converting it with []byte(key) copies it to the heap when it is
// longer than 32 bytes and to the stack otherwise, and that allocation made
// refusing a key measurably slower for long keys, which told their length.
func Hash(key string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(key), len(key)))
}

// MatchAny reports whether key is one of candidates, comparing their
// hashes in constant time: the time taken depends on neither the length
// of key nor which candidate matches.
func MatchAny(key string, candidates []string) bool {
	h := Hash(key)
	match := 0
	for _, c := range candidates {
		ch := Hash(c)
		match |= subtle.ConstantTimeCompare(h[:], ch[:])
	}
	return match == 1
}

// match returns the key of entries whose hash is h, comparing with every
// entry in constant time.
func match(entries []entry, h [sha256.Size]byte) *Key {
	var found *Key
	for _, e := range entries {
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 {
			found = e.key
		}
	}
	return found
}

func (r *Keyring) nowUTC() time.Time { return r.now().UTC().Truncate(time.Microsecond) }

// Check returns the key presented, nil when it is no live or bootstrap
// key. A stored key's last use is written at most every Touch.
func (r *Keyring) Check(ctx context.Context, presented string) (*Key, error) {
	h := Hash(presented)
	live, err := r.liveKeys(ctx)
	if err != nil {
		return nil, err
	}
	// Both lists are compared in full: which one matched takes no
	// different time.
	stored, boot := match(live, h), match(r.bootstrap, h)
	switch {
	case boot != nil:
		k := *boot // the caller's own copy
		return &k, nil
	case stored == nil:
		return nil, nil
	}
	r.touchKey(ctx, stored.ID)
	k := *stored
	return &k, nil
}

// Configured reports whether any key is configured, bootstrap or stored;
// without one the API is open.
func (r *Keyring) Configured(ctx context.Context) (bool, error) {
	if len(r.bootstrap) > 0 {
		return true, nil
	}
	live, err := r.liveKeys(ctx)
	return len(live) > 0, err
}

// liveKeys returns the cached live keys, reloaded when older than refresh.
// A failed reload keeps serving the keys loaded before, if any: the
// database being briefly away should not lock every client out.
func (r *Keyring) liveKeys(ctx context.Context) ([]entry, error) {
	if r.db == nil {
		return nil, nil
	}
	if s := r.snap.Load(); s != nil && r.fresh(s) {
		return s.live, nil
	}
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	prev := r.snap.Load()
	if prev != nil && r.fresh(prev) { // reloaded while this one waited
		return prev.live, nil
	}
	now := r.now()
	live, err := r.load(ctx)
	if err != nil {
		if prev == nil {
			return nil, err
		}
		r.log.Warn("keys: reload failed, using the keys loaded before", "error", err)
		return prev.live, nil
	}
	r.snap.Store(&snapshot{live: live, loaded: now})
	return live, nil
}

func (r *Keyring) fresh(s *snapshot) bool {
	return !s.loaded.IsZero() && r.now().Sub(s.loaded) < r.refresh
}

func (r *Keyring) load(ctx context.Context) ([]entry, error) {
	rows, err := r.db.QueryContext(ctx, r.db.Query("KeyListLive"))
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		e, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("load keys: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	return out, nil
}

// scanKey reads id, name, hash, prefix, scopes, sources, created_at,
// last_used_at, allowed_origins.
func scanKey(row interface{ Scan(...any) error }) (entry, error) {
	var (
		k               Key
		hash            string
		scopes, sources string
		lastUsed        sql.NullTime
		origins         sql.NullString
	)
	if err := row.Scan(&k.ID, &k.Name, &hash, &k.Prefix, &scopes, &sources, &k.CreatedAt, &lastUsed, &origins); err != nil {
		return entry{}, err
	}
	var e entry
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != len(e.hash) {
		return entry{}, fmt.Errorf("key %s: stored hash is not hex SHA-256", k.ID)
	}
	copy(e.hash[:], b)
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return entry{}, fmt.Errorf("key %s: scopes: %w", k.ID, err)
	}
	if err := json.Unmarshal([]byte(sources), &k.Sources); err != nil {
		return entry{}, fmt.Errorf("key %s: sources: %w", k.ID, err)
	}
	k.AllowedOrigins = []string{}
	if origins.Valid {
		if err := json.Unmarshal([]byte(origins.String), &k.AllowedOrigins); err != nil {
			return entry{}, fmt.Errorf("key %s: allowed_origins: %w", k.ID, err)
		}
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if lastUsed.Valid {
		t := lastUsed.Time.UTC()
		k.LastUsedAt = &t
	}
	e.key = &k
	return e, nil
}

// touchKey writes the key's last use unless written within touch. A
// failure is logged: it must not refuse the request.
func (r *Keyring) touchKey(ctx context.Context, id string) {
	now := r.nowUTC()
	v, _ := r.touched.LoadOrStore(id, new(atomic.Int64))
	last := v.(*atomic.Int64)
	prev := last.Load()
	if prev != 0 && now.Sub(time.UnixMicro(prev)) < r.touch || !last.CompareAndSwap(prev, now.UnixMicro()) {
		return // written lately, or by a request checking the key at the same time
	}
	if _, err := r.db.ExecContext(ctx, r.db.Query("KeyTouch"), id, now); err != nil && ctx.Err() == nil {
		r.log.Warn("keys: write last use", "key_id", id, "error", err)
	}
}

// invalidate makes the next check reload the live keys.
func (r *Keyring) invalidate() {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	if s := r.snap.Load(); s != nil {
		r.snap.Store(&snapshot{live: s.live})
	}
}

// errNoStore is a write to a keyring without a database.
var errNoStore = errors.New("keys: no key store (bootstrap keys only)")

// Create stores a new key and returns it with the key itself, which is
// not kept and cannot be shown again. Errors wrap ErrInvalid or
// ErrNameTaken when the request is at fault.
func (r *Keyring) Create(ctx context.Context, p CreateParams) (*Key, string, error) {
	if r.db == nil {
		return nil, "", errNoStore
	}
	p, err := p.normalize()
	if err != nil {
		return nil, "", err
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	secret := Prefix + base64.RawURLEncoding.EncodeToString(raw[:])
	h := Hash(secret)
	k := &Key{ID: newID(), Name: p.Name, Scopes: p.Scopes, Sources: p.Sources, AllowedOrigins: p.AllowedOrigins, Prefix: secret[:prefixLen], CreatedAt: r.nowUTC()}
	scopes, _ := json.Marshal(k.Scopes)
	sources, _ := json.Marshal(k.Sources)
	origins, _ := json.Marshal(k.AllowedOrigins)
	res, err := r.db.ExecContext(ctx, r.db.Query("KeyInsert"), k.ID, k.Name, hex.EncodeToString(h[:]), k.Prefix, string(scopes), string(sources), k.CreatedAt, string(origins))
	if err != nil {
		return nil, "", fmt.Errorf("create key %q: %w", k.Name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, "", fmt.Errorf("create key %q: %w", k.Name, err)
	}
	if n == 0 {
		return nil, "", fmt.Errorf("%w: a live key is named %q: revoke it or pick another name", ErrNameTaken, k.Name)
	}
	r.invalidate()
	return k, secret, nil
}

// newID is a key's id: 16 hex characters.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// List returns the live keys, oldest first, read from the database (not
// the cache), so last uses are current.
func (r *Keyring) List(ctx context.Context) ([]Key, error) {
	if r.db == nil {
		return []Key{}, nil
	}
	live, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Key, len(live))
	for i, e := range live {
		out[i] = *e.key
	}
	return out, nil
}

// Revoke revokes a live key, refused from then on by this keyring (and
// by those of other processes within their refresh), and returns it. An
// id that is no live key is store.ErrNotFound.
func (r *Keyring) Revoke(ctx context.Context, id string) (*Key, error) {
	if r.db == nil {
		return nil, fmt.Errorf("key %q: %w", id, store.ErrNotFound)
	}
	e, err := scanKey(r.db.QueryRowContext(ctx, r.db.Query("KeyRevoke"), id, r.nowUTC()))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("no live key with id %q: %w", id, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("revoke key %q: %w", id, err)
	}
	r.invalidate()
	return e.key, nil
}
