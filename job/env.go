package job

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
)

// Env holds the services of a run.
type Env struct {
	// KV holds a job's state between runs: cursors, caches, lists.
	KV KV
	// SharedKV is the kv store every job shares (see package doc).
	SharedKV KV
	// Settings and Secrets are configuration records set by operators;
	// secrets are encrypted at rest.
	Settings Store
	Secrets  Store
	// Notify writes to the activity log that users read.
	Notify Notifier
	// Log writes developer-facing lines stored with the run.
	Log *slog.Logger
	// Events appends to the event log; Objects upserts custom objects.
	Events  Events
	Objects Objects
	// Folders are the local folders whose files jobs may read (file://
	// sources), given by the operator at start (weft serve
	// --import-folder); a source outside them is refused. Nil allows any
	// folder: a runtime without an operator (tests); the server always
	// sets it.
	Folders []string
	// Jobs triggers runs of other jobs and reads them (OCP's jobs API).
	Jobs JobControl
}

type envKey struct{}

// WithEnv returns ctx carrying env, for ParamsValidator.ValidateParams,
// which the runtime calls with it so that a job can check parameters
// against the environment (a source folder against Folders).
func WithEnv(ctx context.Context, env *Env) context.Context {
	return context.WithValue(ctx, envKey{}, env)
}

// EnvFrom is the Env that WithEnv put in ctx, or nil.
func EnvFrom(ctx context.Context) *Env {
	env, _ := ctx.Value(envKey{}).(*Env)
	return env
}

// Record is a JSON object as stored in KV, Settings and Secrets.
type Record = map[string]any

// MaxRecordBytes is the largest record, as JSON, that KV, Settings and
// Secrets store; a larger one is ErrTooLarge.
const MaxRecordBytes = 400 << 10

var (
	// ErrTooLarge is a record beyond MaxRecordBytes.
	ErrTooLarge = errors.New("record is larger than 400 KB")
	// ErrNotNumber is an Increment of a field that holds something else.
	ErrNotNumber = errors.New("field is not a number")
	// ErrNotList is a list operation on a field that holds something else.
	ErrNotList = errors.New("field is not a list")
)

// Store is a key-value store of records (Settings, Secrets). Get of a
// missing key answers an empty record, not an error.
type Store interface {
	// Get returns the record, or only the named fields of it.
	Get(ctx context.Context, key string, fields ...string) (Record, error)
	// Put replaces the record and returns the previous one.
	Put(ctx context.Context, key string, value Record) (Record, error)
	// Patch reads the record, passes it to update and writes what update
	// returns, atomically: if the record changed in between, update is
	// called again with the new value (compare-and-swap). It returns the
	// record as it was before the write. Merge builds an update that sets
	// some fields.
	Patch(ctx context.Context, key string, update func(prev Record) (Record, error)) (Record, error)
	// Delete removes the record, or only the named fields of it, and
	// returns what was removed.
	Delete(ctx context.Context, key string, fields ...string) (Record, error)
	Exists(ctx context.Context, key string) (bool, error)
}

// Merge is a Patch update that sets the fields of partial and keeps the
// others.
func Merge(partial Record) func(prev Record) (Record, error) {
	return func(prev Record) (Record, error) {
		next := make(Record, len(prev)+len(partial))
		maps.Copy(next, prev)
		maps.Copy(next, partial)
		return next, nil
	}
}

// Level is a notification's kind.
type Level string

// Notification levels, as in the activity log.
const (
	LevelInfo    Level = "info"
	LevelSuccess Level = "success"
	LevelWarn    Level = "warn"
	LevelError   Level = "error"
)

// Notification is an entry of the activity log: Activity is its
// category (for example "Offline Store Import"); Title and Summary are
// required; Details default to Title and Summary.
type Notification struct {
	Level    Level  `json:"level"`
	Activity string `json:"activity"`
	Title    string `json:"title"`
	Summary  string `json:"summary"`
	Details  string `json:"details,omitempty"`
}

// Notifier stores notifications. One with a blank Activity, Title or
// Summary is refused with an error naming the field.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Rejection is a record that a writer refused, by its index in the batch.
type Rejection struct {
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// Events appends events, each a JSON object in the shape of POST
// /v1/events (raw, so that an import need not decode what it passes on).
// Bad records are returned as rejections and the others are stored; the
// error is for failures of the store itself, in which case nothing of the
// batch is acknowledged. Events already in the log (same id) count as
// stored: appends are idempotent.
type Events interface {
	Append(ctx context.Context, records []json.RawMessage) ([]Rejection, error)
}

// Objects upserts records of a custom object type by primary key; fields
// a record does not carry keep their stored values. Rejections and errors
// as for Events.
type Objects interface {
	Upsert(ctx context.Context, objectType string, records []Record) ([]Rejection, error)
}
