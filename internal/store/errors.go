package store

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("not found")

// ErrSchemaTooNew is returned at open time when the database was migrated by
// a newer Weft than this one: running against it could corrupt it.
var ErrSchemaTooNew = errors.New("database schema is newer than this weft binary")

// MigrationError reports the migration that failed and why.
type MigrationError struct {
	Version int
	Name    string
	Err     error
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("migration %03d_%s: %v", e.Version, e.Name, e.Err)
}

func (e *MigrationError) Unwrap() error { return e.Err }
