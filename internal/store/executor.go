package store

import (
	"context"
	"database/sql"
	"errors"
)

// Executor runs statements on the database. *DB (the pool), *Conn (one
// connection, for temporary tables) and *Tx (a transaction) all implement
// it, so code written against it runs inside or outside a transaction
// without holding a raw pool (river's riverdriver.Executor is the model).
//
// The SQL rule: a fixed statement is a named query of
// internal/store/query/*.sql (with a backend's override where the dialect
// differs), run as e.ExecContext(ctx, e.Query("Name"), ...); only SQL built
// from user configuration (stitching rules, attribute definitions, object
// schemas) is assembled in Go by the stage that owns it. The conformance
// suite's QueryNames area (storetest/querynames.go) resolves every name
// passed to Query in the code on both backends.
type Executor interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	// Query returns the named query, with the backend's override if it
	// has one. An unknown name panics: it is a programming error, which
	// the conformance suite's QueryNames area finds first.
	Query(name string) string
}

// ExecutorTx is an Executor inside a transaction.
type ExecutorTx interface {
	Executor
	Commit() error
	Rollback() error
}

// runner is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// executor is the Executor of DB, Conn and Tx: their runner with the
// store's named queries.
type executor struct {
	runner
	q queries
}

func (e executor) Query(name string) string { return e.q.get(name) }

// Tx is a transaction begun by DB.Begin or Conn.Begin.
type Tx struct {
	executor
	tx *sql.Tx
}

var _ ExecutorTx = (*Tx)(nil)

func newTx(tx *sql.Tx, q queries) *Tx { return &Tx{executor{tx, q}, tx} }

// Commit commits the transaction.
func (t *Tx) Commit() error { return t.tx.Commit() }

// Rollback aborts the transaction; after Commit it does nothing and
// returns sql.ErrTxDone, so it can be deferred.
func (t *Tx) Rollback() error { return t.tx.Rollback() }

// Conn is one connection of the pool, for work that keeps temporary tables
// between statements. Close returns it to the pool.
type Conn struct {
	executor
	conn *sql.Conn
}

var _ Executor = (*Conn)(nil)

// Begin starts a transaction on the connection.
func (c *Conn) Begin(ctx context.Context) (*Tx, error) {
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return newTx(tx, c.q), nil
}

// Close returns the connection to the pool.
func (c *Conn) Close() error { return c.conn.Close() }

var _ Executor = (*DB)(nil)

// Begin starts a transaction on a connection of the pool.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return newTx(tx, db.q), nil
}

// Conn takes one connection of the pool; the caller closes it.
func (db *DB) Conn(ctx context.Context) (*Conn, error) {
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Conn{executor{c, db.q}, c}, nil
}

// InTx runs fn in a transaction: committed when fn returns nil, rolled
// back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(ExecutorTx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of rolling back a transaction that is over.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Counts runs a query of (key, count) rows, such as a GROUP BY's, on e
// and returns the counts by key.
func Counts(ctx context.Context, e Executor, query string, args ...any) (map[string]int64, error) {
	rows, err := e.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var key string
		var n int64
		if err := rows.Scan(&key, &n); err != nil {
			return nil, err
		}
		out[key] = n
	}
	return out, rows.Err()
}
