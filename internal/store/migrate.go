package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

type migration struct {
	version int
	name    string
	sql     string
}

//go:embed migrations/*.sql
var sharedMigrations embed.FS

// readMigrations lists the migrations/NNN_name.sql files of the shared and
// the backend's migrations in version order.
func readMigrations(backend fs.FS) ([]migration, error) {
	var out []migration
	for _, fsys := range []fs.FS{sharedMigrations, backend} {
		ms, err := readMigrationDir(fsys)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	// Versions may skip numbers: branches developed side by side are given
	// ranges of their own, and the numbers of one that is not merged stay
	// unused. The schema version is the highest applied.
	for i, m := range out {
		if i > 0 && m.version == out[i-1].version {
			return nil, fmt.Errorf("migration version %03d used twice (%s and %s)", m.version, out[i-1].name, m.name)
		}
	}
	return out, nil
}

func readMigrationDir(fsys fs.FS) ([]migration, error) {
	files, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, f := range files {
		num, name, ok := strings.Cut(strings.TrimSuffix(path.Base(f), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q is not named NNN_name.sql", f)
		}
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(data)})
	}
	return out, nil
}

// migrate applies pending migrations, each in its own transaction, after
// taking the migration lock so that several processes starting at once
// apply each one exactly once.
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := readMigrations(fsys)
	if err != nil {
		return err
	}
	if _, err := db.sql.ExecContext(ctx, db.q.get("MigrationTableCreate")); err != nil {
		return fmt.Errorf("create migration table: %w", err)
	}
	current, err := db.schemaVersion(ctx, db.sql)
	if err != nil {
		return err
	}
	if known := ms[len(ms)-1].version; current > known {
		return fmt.Errorf("%w: database is at version %d, this binary knows %d", ErrSchemaTooNew, current, known)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if err := db.applyMigration(ctx, m); err != nil {
			return &MigrationError{Version: m.version, Name: m.name, Err: err}
		}
	}
	return nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) schemaVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, db.q.get("MigrationVersion")).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func (db *DB) applyMigration(ctx context.Context, m migration) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, db.q.get("MigrationLock")); err != nil {
		return err
	}
	// Another process may have applied it while we waited for the lock.
	current, err := db.schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current >= m.version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.q.get("MigrationRecord"), m.version, m.name, db.now()); err != nil {
		return err
	}
	return tx.Commit()
}
