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

// Tx is a transaction begun by DB.Begin or Conn.Begin.
type Tx struct {
	tx *sql.Tx
	q  queries
}

var _ ExecutorTx = (*Tx)(nil)

func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t *Tx) Query(name string) string { return t.q.get(name) }

// Commit commits the transaction.
func (t *Tx) Commit() error { return t.tx.Commit() }

// Rollback aborts the transaction; after Commit it does nothing and
// returns sql.ErrTxDone, so it can be deferred.
func (t *Tx) Rollback() error { return t.tx.Rollback() }

// Conn is one connection of the pool, for work that keeps temporary tables
// between statements. Close returns it to the pool.
type Conn struct {
	conn *sql.Conn
	q    queries
}

var _ Executor = (*Conn)(nil)

func (c *Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.conn.ExecContext(ctx, query, args...)
}

func (c *Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.conn.QueryContext(ctx, query, args...)
}

func (c *Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.conn.QueryRowContext(ctx, query, args...)
}

func (c *Conn) Query(name string) string { return c.q.get(name) }

// Begin starts a transaction on the connection.
func (c *Conn) Begin(ctx context.Context) (*Tx, error) {
	tx, err := c.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{tx: tx, q: c.q}, nil
}

// Close returns the connection to the pool.
func (c *Conn) Close() error { return c.conn.Close() }

var _ Executor = (*DB)(nil)

func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return db.sql.ExecContext(ctx, query, args...)
}

func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.sql.QueryContext(ctx, query, args...)
}

func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return db.sql.QueryRowContext(ctx, query, args...)
}

// Begin starts a transaction on a connection of the pool.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{tx: tx, q: db.q}, nil
}

// Conn takes one connection of the pool; the caller closes it.
func (db *DB) Conn(ctx context.Context) (*Conn, error) {
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Conn{conn: c, q: db.q}, nil
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
