package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"

	"github.com/weftdata/weft/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data directory.
const FileName = "weft.duckdb"

// ExportDirName is the folder of the data directory where the engine's
// own writers (COPY ... TO (FORMAT parquet), for file exports) may write:
// the one folder its sandbox allows. Files there live as long as the
// export that wrote them.
const ExportDirName = "engine-exports"

// Open opens (creating if needed) the DuckDB store in dataDir and migrates
// it, with the default Settings.
func Open(ctx context.Context, dataDir string, opts *store.Options) (*store.DB, error) {
	return OpenWith(ctx, dataDir, opts, nil)
}

// OpenWith is Open with the engine's memory settings (nil: the defaults).
func OpenWith(ctx context.Context, dataDir string, opts *store.Options, settings *Settings) (*store.DB, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	b, err := newBackend(filepath.Join(dataDir, FileName), settings.WithDefaults(dataDir))
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, b, opts)
	if err != nil {
		return nil, err
	}
	// The configuration is locked once the migrations ran: DuckDB 1.5
	// (measured, not embedded yet: BENCHMARKS.md, "Tenth session")
	// refuses ALTER TABLE ... ADD COLUMN ... DEFAULT inside a transaction
	// under a locked configuration (it sets an option of the transaction
	// itself), and the migrations that add columns with defaults run in
	// one. Only Weft's own statements run before it.
	if err := lockConfiguration(ctx, b.bulk); err != nil {
		db.Close()
		return nil, err
	}
	// Readers narrow by the entity keys: keys of another DuckDB's hash
	// function are computed again before anything reads them.
	if err := store.CheckEntityKeys(ctx, db, db.Capabilities()); err != nil {
		db.Close()
		return nil, err
	}
	// What migrations (and a key check) updated is written out now: until
	// a checkpoint, DuckDB keeps an update of a whole table (migration
	// 038's keys of 10M mappings) as in-memory versions of its rows, and
	// every later scan of them in the same process walks those. A
	// rebuild's final move of the merged rows took 10 to 46 s in the
	// process that had migrated its store at open, 0.3 to 0.5 s after a
	// checkpoint. Nothing to write on later opens.
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		db.Close()
		return nil, fmt.Errorf("checkpoint after migrations: %w", err)
	}
	// Load the id set now rather than in the first request.
	if err := b.ensureIDs(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

type backend struct {
	connector *duckdbdriver.Connector
	db        *sql.DB
	// bulk is the one connection that appends; its temp staging table
	// lives as long as it does.
	bulk *sql.Conn

	exportDir string // ExportFolder

	mu sync.Mutex // serializes Bulk
	// ids holds the hashes of every id in event_log, loaded at open
	// (and again after a failed commit); nil before.
	ids *idSet
	// staging is set once the bulk connection has its staging table.
	staging bool
}

func newBackend(path string, settings Settings) (*backend, error) {
	exportDir, err := filepath.Abs(filepath.Join(filepath.Dir(path), ExportDirName))
	if err == nil {
		err = os.MkdirAll(exportDir, 0o700)
	}
	if err != nil {
		return nil, fmt.Errorf("create the engine's export folder: %w", err)
	}
	exportDir += string(filepath.Separator)
	dsn := url.Values{
		"autoinstall_known_extensions": {"false"},
		"autoload_known_extensions":    {"false"},
		// Checkpoints run inside the commit that crosses the threshold and
		// stall ingestion; commits are durable through the WAL either way, so
		// checkpoint rarely (DuckDB's default is 16 MB).
		"checkpoint_threshold": {"256MB"},
	}
	if err := settings.dsn(dsn); err != nil {
		return nil, err
	}
	connector, err := duckdbdriver.NewConnector(path+"?"+dsn.Encode(), initConn)
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	bulk, err := db.Conn(context.Background())
	if err == nil {
		err = restrict(bulk, exportDir)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	return &backend{connector: connector, db: db, bulk: bulk, exportDir: exportDir}, nil
}

// restrict makes Weft's settings for every connection: UTC, no access
// outside the export folder. lockConfiguration then locks them, so that no
// statement (SQL from the config included) can SET external access back
// on, or change anything else.
//
// SQL from the config reads customer data only (store.CheckConfigSQL): no
// file, network or extension access for any statement. Weft's own need
// none (imports and exports go through Go, and the extensions it uses,
// json and icu, are built in) but for one folder, the engine's export
// folder, where COPY writes Parquet for file exports: it holds nothing
// but those files while they are copied to their target, and config SQL
// cannot name COPY or read_parquet. DuckDB takes allowed_directories only
// by SET, before external access is turned off; nothing but Weft runs on
// the connection until then.
func restrict(conn *sql.Conn, exportDir string) error {
	for _, q := range []string{"SET GLOBAL TimeZone = 'UTC'",
		"SET GLOBAL allowed_directories = ['" + strings.ReplaceAll(exportDir, "'", "''") + "']",
		"SET GLOBAL enable_external_access = false"} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// lockConfiguration locks the engine's configuration (lock_configuration):
// from then on every SET is refused, Weft's own included.
func lockConfiguration(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SET GLOBAL lock_configuration = true"); err != nil {
		return fmt.Errorf("lock the engine's configuration: %w", err)
	}
	return nil
}

//go:embed macros.sql
var macros string

// initConn prepares every new connection: the macros that stand in for
// PostgreSQL's JSON functions. The time zone, UTC, is set for all of them
// once (restrict).
func initConn(execer driver.ExecerContext) error {
	if _, err := execer.ExecContext(context.Background(), macros, nil); err != nil {
		return fmt.Errorf("install macros: %w", err)
	}
	return nil
}

func (b *backend) Name() string      { return "duckdb" }
func (b *backend) SQL() *sql.DB      { return b.db }
func (b *backend) Migrations() fs.FS { return migrations }

// overrides are the queries DuckDB runs differently from the shared ones.
//
//go:embed query/*.sql
var overrides embed.FS

func (b *backend) QueryOverrides() fs.FS { return overrides }

func (b *backend) Close() error {
	b.bulk.Close()
	return b.db.Close()
}

// The staging payload is VARCHAR, not JSON: the appender would encode a
// string bound for a JSON column as a JSON string literal. The insert into
// event_log casts it, which also validates it.
const stagingDDL = `CREATE TEMP TABLE IF NOT EXISTS event_staging (
    id TEXT, source_id TEXT, type TEXT, version TEXT,
    event_time TIMESTAMPTZ, payload VARCHAR)`

// Bulk runs fn in a transaction on the bulk connection. DuckDB's appender
// needs the driver connection, so the whole transaction runs on it. The ids
// staged by fn join the id set once the transaction has committed.
func (b *backend) Bulk(ctx context.Context, fn func(store.BulkTx) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.loadIDsLocked(ctx); err != nil {
		return err
	}
	return b.bulk.Raw(func(dc any) error {
		conn := dc.(driver.Conn)
		tx := &bulkTx{conn: conn, ids: b.ids}
		if !b.staging { // once per connection: a statement less per append
			if _, err := tx.Exec(ctx, stagingDDL); err != nil {
				return err
			}
			b.staging = true
		}
		if _, err := tx.Exec(ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
		err := fn(tx)
		if err == nil && tx.loaded {
			_, err = tx.Exec(ctx, "DELETE FROM event_staging")
		}
		if err != nil {
			_, _ = tx.Exec(context.Background(), "ROLLBACK")
			return err
		}
		// The commit is not interruptible: a cancelled request must not
		// leave us unsure whether it happened. Should it fail all the same,
		// the id set may have missed rows, so it is reloaded from the table.
		if _, err := tx.Exec(context.Background(), "COMMIT"); err != nil {
			_, _ = tx.Exec(context.Background(), "ROLLBACK")
			b.ids = nil
			return err
		}
		for _, h := range tx.staged {
			b.ids.add(h)
		}
		return nil
	})
}

// ensureIDs loads the id set if it is not loaded.
func (b *backend) ensureIDs(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loadIDsLocked(ctx)
}

func (b *backend) loadIDsLocked(ctx context.Context) error {
	if b.ids != nil {
		return nil
	}
	ids, err := b.loadIDs(ctx)
	if err != nil {
		return err
	}
	b.ids = ids
	return nil
}

// loadIDs reads every id of the log into a new id set.
func (b *backend) loadIDs(ctx context.Context) (*idSet, error) {
	rows, err := b.db.QueryContext(ctx, "SELECT id FROM event_log")
	if err != nil {
		return nil, fmt.Errorf("load event ids: %w", err)
	}
	defer rows.Close()
	ids := newIDSet()
	var id sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("load event ids: %w", err)
		}
		ids.add(ids.hash(string(id)))
	}
	return ids, rows.Err()
}

type bulkTx struct {
	conn   driver.Conn
	ids    *idSet
	staged []uint64 // hashes of the ids staged in this transaction
	loaded bool     // LoadEvents filled event_staging
}

func (tx *bulkTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := tx.conn.(driver.ExecerContext).ExecContext(ctx, query, namedValues(args))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (tx *bulkTx) Int(ctx context.Context, query string, args ...any) (int64, error) {
	rows, err := tx.conn.(driver.QueryerContext).QueryContext(ctx, query, namedValues(args))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return 0, err
	}
	switch v := dest[0].(type) {
	case nil:
		return 0, nil
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	default:
		return 0, fmt.Errorf("%s: got %T, want an integer", query, v)
	}
}

// namedValues are args as the driver takes them.
func namedValues(args []any) []driver.NamedValue {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return named
}

// LoadEvents stages the events whose ids are not in the log yet. An id
// whose hash is in the id set is looked up in the table, so a hash
// collision never drops an event.
//
// Staged, not appended to event_log through a table appender: the driver's
// appender json.Marshals whatever goes into a JSON column, so a string
// becomes a JSON string and a json.RawMessage is compacted and
// HTML-escaped, changing the payload's text (measured and dropped on
// 2026-12-06). AppendEvents avoids both with a query appender.
func (tx *bulkTx) LoadEvents(ctx context.Context, events []store.EventInsert) error {
	app, err := duckdbdriver.NewAppenderFromConn(tx.conn, "", "event_staging")
	if err != nil {
		return err
	}
	tx.loaded = true
	_, err = tx.appendNew(ctx, app, events)
	return err
}

// eventAppendQuery inserts the rows of a query appender (appended_data,
// columns col1 to col6 as LoadEvents stages them) into event_log, in the
// order they were appended, as EventInsertFromStaging does from the
// staging table. %s is created_at, a TIMESTAMPTZ literal: a query
// appender takes no parameters.
const eventAppendQuery = `INSERT INTO event_log (id, source_id, type, version, event_time, payload, created_at)
SELECT col1, col2, col3, col4, col5, CAST(col6 AS JSON), TIMESTAMPTZ '%s' FROM appended_data`

// AppendEvents appends the events whose ids are not in the log yet straight
// to event_log (store.EventAppender): one pass over the rows, where staging
// them writes a temporary table, reads it back and deletes it. The payload
// goes in as VARCHAR and is cast in the query, which keeps its text as
// sent and checks that it is JSON, as the staging path does.
func (tx *bulkTx) AppendEvents(ctx context.Context, events []store.EventInsert, createdAt time.Time) (int, error) {
	app, err := duckdbdriver.NewQueryAppender(tx.conn,
		fmt.Sprintf(eventAppendQuery, createdAt.UTC().Format("2006-01-02 15:04:05.999999+00")), "", stagingTypes, nil)
	if err != nil {
		return 0, err
	}
	return tx.appendNew(ctx, app, events)
}

// stagingTypes are the column types of event_staging, for the query
// appender of AppendEvents.
var stagingTypes = func() []duckdbdriver.TypeInfo {
	var out []duckdbdriver.TypeInfo
	for _, t := range []duckdbdriver.Type{duckdbdriver.TYPE_VARCHAR, duckdbdriver.TYPE_VARCHAR, duckdbdriver.TYPE_VARCHAR,
		duckdbdriver.TYPE_VARCHAR, duckdbdriver.TYPE_TIMESTAMP_TZ, duckdbdriver.TYPE_VARCHAR} {
		info, err := duckdbdriver.NewTypeInfo(t)
		if err != nil {
			panic(err) // primitive types: cannot fail
		}
		out = append(out, info)
	}
	return out
}()

// appendNew appends to app, and closes it, the events whose ids are not in
// the log yet, and returns how many. An id whose hash is in the id set is
// looked up in the table, so a hash collision never drops an event.
func (tx *bulkTx) appendNew(ctx context.Context, app *duckdbdriver.Appender, events []store.EventInsert) (int, error) {
	hashes := make([]uint64, len(events))
	var candidates []string
	for i, e := range events {
		hashes[i] = tx.ids.hash(e.ID)
		if tx.ids.has(hashes[i]) {
			candidates = append(candidates, e.ID)
		}
	}
	existing, err := tx.existing(ctx, candidates)
	if err != nil {
		app.Close()
		return 0, err
	}
	seen := make(map[string]struct{}, len(events))
	n := 0
	for i, e := range events {
		if _, dup := seen[e.ID]; dup || existing[e.ID] {
			continue
		}
		seen[e.ID] = struct{}{}
		// The payload as []byte, which the driver copies into the vector
		// as it is: string(e.Payload) cost a copy of every payload on the
		// Go heap.
		if err := app.AppendRow(e.ID, e.SourceID, e.Type, e.Version, e.EventTime, []byte(e.Payload)); err != nil {
			app.Close()
			return 0, err
		}
		tx.staged = append(tx.staged, hashes[i])
		n++
	}
	return n, app.Close()
}

// existing returns which of the ids are in event_log.
func (tx *bulkTx) existing(ctx context.Context, ids []string) (map[string]bool, error) {
	found := map[string]bool{}
	if len(ids) == 0 {
		return found, nil
	}
	var q strings.Builder
	q.WriteString("SELECT id FROM event_log WHERE id IN (")
	for i, id := range ids {
		if i > 0 {
			q.WriteByte(',')
		}
		// A string literal: ids hold no NUL (package event checks), and
		// doubling quotes is the only escape DuckDB literals need.
		q.WriteString("'" + strings.ReplaceAll(id, "'", "''") + "'")
	}
	q.WriteByte(')')
	rows, err := tx.conn.(driver.QueryerContext).QueryContext(ctx, q.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("look up candidate duplicates: %w", err)
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return found, nil
			}
			return nil, err
		}
		if s, ok := dest[0].(string); ok {
			found[s] = true
		}
	}
}
