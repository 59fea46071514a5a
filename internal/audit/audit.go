package audit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Entry is one change asked of the API.
type Entry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// KeyID is the stored key's id, empty for the others.
	KeyID string `json:"key_id"`
	// KeyName is the stored key's name, "bootstrap", "open", or empty
	// when no valid key was presented.
	KeyName   string `json:"key_name"`
	RequestID string `json:"request_id"`
	// Action names the change: "config.apply", "keys.create", ...
	Action string `json:"action"`
	Method string `json:"method"`
	// Route is the route's pattern, Path the path asked.
	Route   string `json:"route"`
	Path    string `json:"path"`
	Status  int    `json:"status"`
	Summary string `json:"summary"`
}

// Defaults and bounds of ListParams.Limit.
const (
	ListLimitDefault = 100
	ListLimitMax     = 1000
)

// MaxSummaryLen bounds a summary; a longer one is cut.
const MaxSummaryLen = 500

// ListParams select entries.
type ListParams struct {
	// Since keeps entries at or after it; zero keeps all.
	Since time.Time
	// Action keeps entries of this action; empty keeps all.
	Action string
	// Limit is the most entries answered. Default ListLimitDefault.
	Limit int
}

// Log is the audit trail in the database.
type Log struct {
	db  store.Executor
	now func() time.Time
}

// Options tune a Log. A nil *Options means all defaults.
type Options struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// New returns the audit trail over db.
func New(db store.Executor, opts *Options) *Log {
	l := &Log{db: db, now: time.Now}
	if opts != nil && opts.Now != nil {
		l.now = opts.Now
	}
	return l
}

// Record appends an entry, stamped now; ID and At are set on e.
func (l *Log) Record(ctx context.Context, e *Entry) error {
	e.At = l.now().UTC().Truncate(time.Microsecond)
	e.Summary = truncate(e.Summary)
	_, err := l.db.ExecContext(ctx, l.db.Query("AuditInsert"), e.At, e.KeyID, e.KeyName, e.RequestID, e.Action, e.Method, e.Route, e.Path, e.Status, e.Summary)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// List returns entries, newest first.
func (l *Log) List(ctx context.Context, p ListParams) ([]Entry, error) {
	if p.Limit <= 0 {
		p.Limit = ListLimitDefault
	}
	if p.Since.IsZero() {
		p.Since = time.Unix(0, 0)
	}
	rows, err := l.db.QueryContext(ctx, l.db.Query("AuditList"), p.Since.UTC(), p.Action, min(p.Limit, ListLimitMax))
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.At, &e.KeyID, &e.KeyName, &e.RequestID, &e.Action, &e.Method, &e.Route, &e.Path, &e.Status, &e.Summary); err != nil {
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) <= MaxSummaryLen {
		return s
	}
	cut := MaxSummaryLen
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}

// summaryKey holds the summary a handler writes for the audited request.
type summaryKey struct{}

type summary struct {
	mu   sync.Mutex
	text string
}

// WithSummary returns a context in which Summarize writes the request's
// summary, and the function that reads it once the handler is done.
func WithSummary(ctx context.Context) (context.Context, func() string) {
	s := &summary{}
	return context.WithValue(ctx, summaryKey{}, s), func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.text
	}
}

// Summarize describes the change the request of ctx makes, for its audit
// entry; outside an audited request it does nothing. Never put a secret's
// value, a key or personal data in it.
func Summarize(ctx context.Context, format string, args ...any) {
	s, ok := ctx.Value(summaryKey{}).(*summary)
	if !ok {
		return
	}
	s.mu.Lock()
	s.text = fmt.Sprintf(format, args...)
	s.mu.Unlock()
}
