package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"

	"github.com/weftdata/weft/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data directory.
const FileName = "weft.duckdb"

// Open opens (creating if needed) the DuckDB store in dataDir and migrates it.
func Open(ctx context.Context, dataDir string, opts *store.Options) (*store.DB, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	b, err := newBackend(filepath.Join(dataDir, FileName))
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, b, opts)
}

type backend struct {
	connector *duckdbdriver.Connector
	db        *sql.DB
	// bulk is the one connection that appends; its temp staging table
	// lives as long as it does.
	bulk *sql.Conn
}

func newBackend(path string) (*backend, error) {
	dsn := path + "?" + url.Values{
		"autoinstall_known_extensions": {"false"},
		"autoload_known_extensions":    {"false"},
		// Checkpoints run inside the commit that crosses the threshold and
		// stall ingestion; commits are durable through the WAL either way, so
		// checkpoint rarely (DuckDB's default is 16 MB).
		"checkpoint_threshold": {"256MB"},
	}.Encode()
	connector, err := duckdbdriver.NewConnector(dsn, initConn)
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	bulk, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	return &backend{connector: connector, db: db, bulk: bulk}, nil
}

// initConn prepares every new connection.
func initConn(execer driver.ExecerContext) error {
	_, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
	return err
}

func (b *backend) Name() string          { return "duckdb" }
func (b *backend) SQL() *sql.DB          { return b.db }
func (b *backend) Migrations() fs.FS     { return migrations }
func (b *backend) QueryOverrides() fs.FS { return nil }

func (b *backend) IsUniqueViolation(err error) bool {
	var de *duckdbdriver.Error
	return errors.As(err, &de) && de.Type == duckdbdriver.ErrorTypeConstraint
}

func (b *backend) Close() error {
	b.bulk.Close()
	return b.db.Close()
}

// The staging payload is VARCHAR, not JSON: the appender would encode a
// string bound for a JSON column as a JSON string literal. The insert into
// customer_events casts it, which also validates it.
const stagingDDL = `CREATE TEMP TABLE IF NOT EXISTS event_staging (
    id TEXT, source_id TEXT, type TEXT, version TEXT,
    event_time TIMESTAMPTZ, payload VARCHAR)`

// Bulk runs fn in a transaction on the bulk connection. DuckDB's appender
// needs the driver connection, so the whole transaction runs on it.
func (b *backend) Bulk(ctx context.Context, fn func(store.BulkTx) error) error {
	return b.bulk.Raw(func(dc any) error {
		conn := dc.(driver.Conn)
		tx := &bulkTx{conn: conn, execer: conn.(driver.ExecerContext)}
		if _, err := tx.Exec(ctx, stagingDDL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_, _ = tx.Exec(context.Background(), "ROLLBACK")
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM event_staging"); err != nil {
			_, _ = tx.Exec(context.Background(), "ROLLBACK")
			return err
		}
		_, err := tx.Exec(ctx, "COMMIT")
		return err
	})
}

type bulkTx struct {
	conn   driver.Conn
	execer driver.ExecerContext
}

func (tx *bulkTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	res, err := tx.execer.ExecContext(ctx, query, named)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (tx *bulkTx) LoadEvents(ctx context.Context, events []store.EventInsert) error {
	app, err := duckdbdriver.NewAppenderFromConn(tx.conn, "", "event_staging")
	if err != nil {
		return err
	}
	for _, e := range events {
		err := app.AppendRow(e.ID, e.SourceID, e.Type, e.Version, e.EventTime, string(e.Payload))
		if err != nil {
			app.Close()
			return err
		}
	}
	return app.Close()
}
