package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/weftdata/weft/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

//go:embed query/*.sql
var overrides embed.FS

// Open connects to the database at url (postgres://...) and migrates it.
func Open(ctx context.Context, url string, opts *store.Options) (*store.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	// Timestamps are UTC everywhere in Weft, including in user SQL.
	cfg.RuntimeParams["timezone"] = "UTC"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s@%s:%d/%s: %w", cfg.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	b := &backend{db: db}
	st, err := store.Open(ctx, b, opts)
	if err != nil {
		return nil, err
	}
	// After the migrations: the role is granted reads of their tables.
	if b.sandbox, err = setUpSandbox(ctx, db); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

type backend struct {
	db *sql.DB
	// sandbox is the role config SQL runs as (sandbox.go), set once the
	// store is migrated.
	sandbox *sandbox
}

func (b *backend) Name() string          { return "postgres" }
func (b *backend) SQL() *sql.DB          { return b.db }
func (b *backend) Migrations() fs.FS     { return migrations }
func (b *backend) QueryOverrides() fs.FS { return overrides }
func (b *backend) Close() error          { return b.db.Close() }

// ord is each event's position in its request: the insert into the log
// orders by it, so that seq follows the request whatever order a scan of
// the table gives (PostgreSQL promises none).
const stagingDDL = `CREATE TEMP TABLE IF NOT EXISTS event_staging (
    id TEXT, source_id TEXT, type TEXT, version TEXT,
    event_time TIMESTAMPTZ, payload JSONB, ord INT) ON COMMIT DELETE ROWS`

// staging is the statement that makes the session's staging table if it
// has none. The stitching rules that find suppressed events in it are
// config SQL, which runs as the restricted role (sandbox.go): the role may
// read the table, granted once, when it is made.
func (b *backend) staging() string {
	if b.sandbox == nil || b.sandbox.role == "" {
		return stagingDDL
	}
	return `DO $$ BEGIN IF to_regclass('pg_temp.event_staging') IS NULL THEN ` + stagingDDL +
		`; GRANT SELECT ON event_staging TO ` + b.sandbox.role + `; END IF; END $$`
}

// Bulk runs fn in a pgx transaction, which COPY needs, on a pooled
// connection; the staging table empties itself at commit.
func (b *backend) Bulk(ctx context.Context, fn func(store.BulkTx) error) error {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after Commit
		if _, err := tx.Exec(ctx, b.staging()); err != nil {
			return err
		}
		if err := fn(bulkTx{tx}); err != nil {
			return err
		}
		// Not interruptible: a cancelled request must not leave the outcome
		// of its commit unknown.
		return tx.Commit(context.Background())
	})
}

type bulkTx struct{ tx pgx.Tx }

func (b bulkTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := b.tx.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (b bulkTx) Int(ctx context.Context, query string, args ...any) (int64, error) {
	var n *int64
	if err := b.tx.QueryRow(ctx, query, args...).Scan(&n); err != nil || n == nil {
		return 0, err
	}
	return *n, nil
}

var stagingColumns = []string{"id", "source_id", "type", "version", "event_time", "payload", "ord"}

func (b bulkTx) LoadEvents(ctx context.Context, events []store.EventInsert) error {
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(events) {
			return nil, nil
		}
		e := &events[i]
		i++
		return []any{e.ID, e.SourceID, e.Type, e.Version, e.EventTime, string(e.Payload), i}, nil
	})
	_, err := b.tx.CopyFrom(ctx, pgx.Identifier{"event_staging"}, stagingColumns, src)
	return err
}
