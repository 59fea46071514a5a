package rank

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/plugin"
)

// DB is what the ranker reads: the named queries of internal/store/query
// (a *store.DB).
type DB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Query(name string) string
}

// Options configure a Ranker.
type Options struct {
	// DB is the store the state is read from. Required.
	DB DB
	// Delivery returns the delivery section of the configuration in
	// force (pipeline.Pipeline's); nil, or a nil result, means all
	// defaults. It is called by refreshes only, never on the request path.
	Delivery func(context.Context) (*Delivery, error)
	// Consent returns the consent section of the configuration in force;
	// nil, or a section without personalization, ranks every user with
	// the personal rules. Called by refreshes only.
	Consent func(context.Context) (consent.Config, error)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Ranker ranks the insertions of delivery requests from an in-memory
// state that Run or Refresh reloads from the store.
type Ranker struct {
	opts Options
	log  *slog.Logger
	snap atomic.Pointer[snapshot]
	// refreshMu serializes refreshes: each builds on the last one's
	// engagement.
	refreshMu sync.Mutex
}

// snapshot is one refresh's state. It is never changed after it is
// published: requests read it without locks.
type snapshot struct {
	useCases useCases
	// keys are the insertion properties the rules read (PropertyKeys).
	keys  map[string]bool
	eng   *engagement
	users *users
	stats Stats
}

// Stats describe the state in memory.
type Stats struct {
	// Contents and Users are how many are held; UsersTruncated says the
	// byte cap left users out, ContentsDropped how many contents it
	// dropped.
	Contents        int  `json:"contents"`
	ContentsDropped int  `json:"contents_dropped"`
	Users           int  `json:"users"`
	UsersTruncated  bool `json:"users_truncated"`
	// Bytes is the memory the state takes, by the accounting of size.go;
	// MemoryBytes the cap.
	Bytes       int64 `json:"bytes"`
	MemoryBytes int64 `json:"memory_bytes"`
	// Watermark is the last event seq counted.
	Watermark int64 `json:"watermark"`
	// MissingProperties are rule references no published property answers.
	MissingProperties []string  `json:"missing_properties,omitempty"`
	RefreshedAt       time.Time `json:"refreshed_at"`
}

// New returns a Ranker with an empty state (every score neutral, no
// personalization) until its first refresh.
func New(opts Options) *Ranker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Ranker{opts: opts, log: opts.Logger}
	eng := newEngagement()
	empty := &users{byUserID: map[string]int32{}, byAnonID: map[string]int32{}}
	src, resolved, _ := referenced(&Delivery{}, nil)
	ucs := compileUseCases(&Delivery{}, eng, src, resolved)
	r.snap.Store(&snapshot{useCases: ucs, keys: ucs.propertyKeys(), eng: eng, users: empty})
	return r
}

// Stats describe the state of the last refresh.
func (r *Ranker) Stats() Stats { return r.snap.Load().stats }

// PropertyKeys are the top-level insertion properties the rules of any use
// case read: a request decoder need not build the others. Empty when there
// are no rules; callers must not change it.
func (r *Ranker) PropertyKeys() map[string]bool { return r.snap.Load().keys }

// Run refreshes the state until ctx ends: at once, then every
// delivery.refresh of the configuration in force. A failed refresh is
// logged and the previous state kept.
func (r *Ranker) Run(ctx context.Context) {
	for {
		start := time.Now()
		if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("ranking state refresh failed; keeping the previous state", "error", err)
		}
		wait := RefreshDefault
		if d, err := r.delivery(ctx); err == nil {
			wait = d.RefreshOrDefault()
		}
		wait = refreshWait(wait, time.Since(start))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// refreshBusyFactor bounds the share of time the background refresh may
// take: it waits at least this many times as long as the last refresh
// took, as the console's figures do. Users are read in full at each
// refresh, which takes seconds with millions of them, so a short
// delivery.refresh would otherwise keep a core busy for good on a server
// that answers nothing (the 10M-event demo store, 2M entities, with a 2 s
// refresh: 0.4 to 0.8 s of CPU every second; waiting three times what a
// refresh took still left 0.35 to 0.45 s).
const refreshBusyFactor = 10

// refreshWait is the wait before the next refresh: refresh, or
// refreshBusyFactor times what the last one took when that is longer.
func refreshWait(refresh, took time.Duration) time.Duration {
	return max(refresh, refreshBusyFactor*took)
}

func (r *Ranker) delivery(ctx context.Context) (*Delivery, error) {
	if r.opts.Delivery == nil {
		return &Delivery{}, nil
	}
	d, err := r.opts.Delivery(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the configuration: %w", err)
	}
	if d == nil {
		d = &Delivery{}
	}
	return d, nil
}

// Refresh reloads the state once: the delivery events logged since the
// last refresh are added to the content statistics, and the users are
// read again. On error the previous state stays in use.
func (r *Ranker) Refresh(ctx context.Context) error {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	d, err := r.delivery(ctx)
	if err != nil {
		return err
	}
	prev := r.snap.Load()
	eng, err := prev.eng.load(ctx, r.opts.DB)
	if err != nil {
		return err
	}
	limit := d.MemoryBytesOrDefault()
	eng, dropped := eng.trim(limit)
	if dropped > 0 {
		r.log.Warn("ranking state: content statistics over the memory cap; the least engaged contents are dropped",
			"dropped", dropped, "memory_bytes", limit)
	}
	props, err := r.properties(ctx)
	if err != nil {
		return err
	}
	src, resolved, missing := referenced(d, func(ref string) (string, bool) {
		p, ok := plugin.ResolveProperty(ref, props)
		return p.ID, ok
	})
	var consents consent.Config
	if r.opts.Consent != nil {
		if consents, err = r.opts.Consent(ctx); err != nil {
			return fmt.Errorf("read the configuration: %w", err)
		}
	}
	us, err := loadUsers(ctx, r.opts.DB, d.UserIDCategory(), d.AnonUserIDCategory(), src, limit-eng.bytes,
		consents.Filter(consent.Personalization))
	if err != nil {
		return err
	}
	ucs := compileUseCases(d, eng, src, resolved)
	next := &snapshot{useCases: ucs, keys: ucs.propertyKeys(), eng: eng, users: us, stats: Stats{
		Contents: len(eng.content), ContentsDropped: dropped, Users: len(us.profiles), UsersTruncated: us.truncated,
		Bytes: eng.bytes + us.bytes, MemoryBytes: limit, Watermark: eng.watermark,
		MissingProperties: missing, RefreshedAt: r.opts.Now().UTC(),
	}}
	r.snap.Store(next)
	return nil
}

// properties lists the published plugin properties, what rules resolve
// their references against.
func (r *Ranker) properties(ctx context.Context) ([]plugin.Property, error) {
	rows, err := r.opts.DB.QueryContext(ctx, r.opts.DB.Query("RankPropertyList"))
	if err != nil {
		return nil, fmt.Errorf("list plugin properties: %w", err)
	}
	defer rows.Close()
	var out []plugin.Property
	for rows.Next() {
		var p plugin.Property
		if err := rows.Scan(&p.ID, &p.Plugin, &p.Name, &p.PublishedAt); err != nil {
			return nil, fmt.Errorf("list plugin properties: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
