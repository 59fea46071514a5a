package object

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// SchemaName is the database schema that holds one table per type.
const SchemaName = "objects"

// SchemaFunc returns the types in force.
type SchemaFunc func(ctx context.Context) (*Schema, error)

// Options tune a Store; a nil *Options means all defaults.
type Options struct {
	// Now is the clock of _updated_at. Default time.Now.
	Now func() time.Time
}

// Store reads and writes the records of the object types in force. It
// implements job.Objects.
type Store struct {
	db     DB
	schema SchemaFunc
	now    func() time.Time
	// writeMu serializes writes and DDL on a single-writer backend
	// (DuckDB refuses concurrent writes to the same rows); nil otherwise.
	writeMu *sync.Mutex
}

// DB is what a Store needs from the store (a *store.DB).
type DB interface {
	store.Executor
	Begin(ctx context.Context) (*store.Tx, error)
	Capabilities() store.Capabilities
}

// NewStore returns a Store over db whose types are those schema returns.
func NewStore(db DB, schema SchemaFunc, opts *Options) *Store {
	s := &Store{db: db, schema: schema, now: time.Now}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	if db.Capabilities().SingleWriter() {
		s.writeMu = &sync.Mutex{}
	}
	return s
}

func (s *Store) lockWrites() func() {
	if s.writeMu == nil {
		return func() {}
	}
	s.writeMu.Lock()
	return s.writeMu.Unlock
}

// Schema returns the types in force.
func (s *Store) Schema(ctx context.Context) (*Schema, error) { return s.schema(ctx) }

func (s *Store) table(ctx context.Context, name string) (*table, error) {
	sch, err := s.schema(ctx)
	if err != nil {
		return nil, err
	}
	return sch.table(name)
}

// ident quotes a name; names are [a-z0-9_], so quoting only guards
// against reserved words.
func ident(name string) string { return `"` + name + `"` }

// tableName is the qualified, quoted table of a type.
func tableName(name string) string { return SchemaName + "." + ident(name) }

func joinIdents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = ident(n)
	}
	return strings.Join(q, ", ")
}
