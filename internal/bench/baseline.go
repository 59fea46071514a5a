package bench

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// BaselineOpts describe a run of the SQL stitching baseline.
type BaselineOpts struct {
	DB     *store.DB
	Config stitch.Config
	// MaxSeq bounds the events it stitches (seq <= MaxSeq), so that it
	// stitches the events of an earlier rebuild; 0 means all.
	MaxSeq int64
	// Labels, when set, is called with every event's seq and label (the
	// smallest seq of its entity) before the tables are dropped.
	Labels func(seq, label int64) error
}

// BaselineReport is what a run of the SQL baseline measured.
type BaselineReport struct {
	Time time.Duration
	// Rounds of label propagation, the last one finding nothing to change.
	Rounds int
	// Where Time went: evaluating the rules into identifier rows, the
	// tables of keys, edges and labels, the rounds, the events' labels.
	RulesTime, TablesTime, RoundsTime, ResultTime time.Duration
	// Identifiers is how many (event, identifier) rows the rules gave,
	// Bridges how many events carry two identifiers or more.
	Identifiers, Bridges int64
	// Entities is the number of labels (counted after the timing).
	Entities int64
	// StartRSSBytes is this process's resident memory when the baseline
	// started, PeakRSSBytes its peak during the run. They include DuckDB
	// when embedded, not a PostgreSQL server.
	StartRSSBytes, PeakRSSBytes int64
	// MemoryLimit is the embedded DuckDB's memory_limit during the run,
	// empty on PostgreSQL.
	MemoryLimit string
}

// baselineTables are the temporary tables of the baseline, dropped at the end.
var baselineTables = []string{"bl_ident", "bl_key", "bl_edge", "bl_label", "bl_event", "bl_bridge", "bl_changed", "bl_next", "bl_result"}

// SQLBaseline stitches the event log the warehouse-native way, as dbt
// identity packages and SQL-only CDPs do, in the store's own engine: the
// rules evaluated into identifier edges (blocked values left out), then
// min-label propagation until no label changes, without guard rails, into
// the temporary table bl_result (seq, label). The fixed statements are
// the queries StitchBaseline* (store/query/stitchbaseline.sql).
//
// Labels travel between identifiers, not events: an identifier's label is
// the smallest label of its events, an event's the smallest of its
// identifiers', which is min-label propagation over events sharing an
// identifier, round for round. Only the events with two identifiers or
// more carry a label anywhere, so the rounds join those alone, and only
// those touching an identifier whose label changed in the round before
// (semi-naive evaluation). Each round's changes go into a new table and
// are applied with one UPDATE of those labels alone, where a CREATE TABLE
// AS per round would copy every label for the few that change in the later
// rounds. Most of the time goes into evaluating the rules and building the
// tables (BaselineReport says where it went).
func SQLBaseline(ctx context.Context, opts BaselineOpts) (*BaselineReport, error) {
	maxSeq := opts.MaxSeq
	if maxSeq <= 0 {
		maxSeq = math.MaxInt64
	}
	conn, err := opts.DB.Conn(ctx) // the temporary tables live on one connection
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	identSQL, err := baselineIdentifiersSQL(ctx, conn, opts.Config)
	if err != nil {
		return nil, err
	}
	defer dropBaselineTables(conn)
	dropBaselineTables(conn) // left over by a run that was cut short

	debug.FreeOSMemory()
	r := &BaselineReport{StartRSSBytes: currentRSS(), MemoryLimit: memoryLimit(ctx, opts.DB)}
	resetPeakRSS()
	start := time.Now()
	if _, err := conn.ExecContext(ctx, identSQL, maxSeq); err != nil {
		return nil, fmt.Errorf("baseline: evaluate the rules: %w", err)
	}
	lap := lapper(start)
	r.RulesTime = lap()
	for _, q := range []string{"StitchBaselineKeys", "StitchBaselineEdges", "StitchBaselineLabels", "StitchBaselineEvents", "StitchBaselineBridges", "StitchBaselineFrontier"} {
		if _, err := conn.ExecContext(ctx, conn.Query(q)); err != nil {
			return nil, fmt.Errorf("baseline: %s: %w", q, err)
		}
	}
	caps := opts.DB.Capabilities()
	indexes := slices.Concat(caps.IndexAfterCopy("bl_bridge", "seq"), caps.IndexAfterCopy("bl_bridge", "k"), caps.IndexAfterCopy("bl_label", "k"))
	for _, q := range indexes {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("baseline: %s: %w", q, err)
		}
	}
	r.TablesTime = lap()
	if r.Rounds, err = propagate(ctx, conn); err != nil {
		return nil, err
	}
	r.RoundsTime = lap()
	if _, err := conn.ExecContext(ctx, conn.Query("StitchBaselineResult"), maxSeq); err != nil {
		return nil, fmt.Errorf("baseline: labels of the events: %w", err)
	}
	r.ResultTime = lap()
	r.Time = time.Since(start)
	r.PeakRSSBytes = peakRSS()
	resetPeakRSS()

	err = conn.QueryRowContext(ctx, conn.Query("StitchBaselineCounts")).Scan(&r.Identifiers, &r.Bridges, &r.Entities)
	if err != nil {
		return nil, fmt.Errorf("baseline: count: %w", err)
	}
	if opts.Labels != nil {
		if err := readLabels(ctx, conn, opts.Labels); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// propagate runs rounds until one changes no label, and returns how many ran.
func propagate(ctx context.Context, conn *store.Conn) (int, error) {
	for round := 1; ; round++ {
		if _, err := conn.ExecContext(ctx, conn.Query("StitchBaselineRound")); err != nil {
			return round, fmt.Errorf("baseline: round %d: %w", round, err)
		}
		res, err := conn.ExecContext(ctx, conn.Query("StitchBaselineApply"))
		if err != nil {
			return round, fmt.Errorf("baseline: round %d: %w", round, err)
		}
		changed, err := res.RowsAffected()
		if err != nil || changed == 0 {
			return round, err
		}
		for _, q := range []string{"StitchBaselineFrontierDrop", "StitchBaselineFrontierNext"} {
			if _, err := conn.ExecContext(ctx, conn.Query(q)); err != nil {
				return round, fmt.Errorf("baseline: round %d: %w", round, err)
			}
		}
	}
}

// baselineIdentifiersSQL is the statement that evaluates the rules into
// bl_ident (seq, category, value), blocked values left out, over the
// events of seq up to $1. It reuses stitch's own SQL of the rules
// (Config.IdentifiersSQL) over event_log with seq in place of the id.
func baselineIdentifiersSQL(ctx context.Context, conn *store.Conn, cfg stitch.Config) (string, error) {
	rows, err := conn.QueryContext(ctx, conn.Query("StitchBaselineEventColumns"))
	if err != nil {
		return "", fmt.Errorf("baseline: columns of event_log: %w", err)
	}
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return "", err
		}
		if c == "id" {
			c = "seq AS id"
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	idents, err := cfg.IdentifiersSQL("(SELECT " + strings.Join(cols, ", ") + " FROM event_log WHERE seq <= $1)")
	if err != nil {
		return "", err
	}
	if idents == "" {
		idents = "SELECT seq AS id, '' AS category, '' AS value FROM event_log WHERE FALSE AND seq <= $1"
	}
	return "CREATE TEMP TABLE bl_ident AS SELECT id AS seq, category, value FROM (\n" + idents + "\n) i WHERE " + notBlockedSQL(cfg), nil
}

// notBlockedSQL is the condition over (category, value) that leaves out
// the blocked values of cfg. A blocked pattern is searched for as Go's
// regexp does (anywhere in the value), on both engines: DuckDB's ~ matches
// the whole value and PostgreSQL's searches, so the pattern is wrapped in
// .* on both sides, with (?s) so that . takes newlines too.
func notBlockedSQL(cfg stitch.Config) string {
	var blocked []string
	for _, cat := range slices.Sorted(maps.Keys(cfg.Identifiers)) {
		id := cfg.Identifiers[cat]
		if len(id.BlockedValues) > 0 {
			vals := make([]string, len(id.BlockedValues))
			for i, v := range id.BlockedValues {
				vals[i] = sqlString(v)
			}
			blocked = append(blocked, fmt.Sprintf("(category = %s AND value IN (%s))", sqlString(cat), strings.Join(vals, ", ")))
		}
		if id.BlockedPattern != "" {
			blocked = append(blocked, fmt.Sprintf("(category = %s AND value ~ %s)", sqlString(cat), sqlString("(?s).*(?:"+id.BlockedPattern+").*")))
		}
	}
	if len(blocked) == 0 {
		return "TRUE"
	}
	return "NOT (" + strings.Join(blocked, " OR ") + ")"
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func readLabels(ctx context.Context, conn *store.Conn, fn func(seq, label int64) error) error {
	rows, err := conn.QueryContext(ctx, conn.Query("StitchBaselineRead"))
	if err != nil {
		return fmt.Errorf("baseline: read labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq, label int64
		if err := rows.Scan(&seq, &label); err != nil {
			return err
		}
		if err := fn(seq, label); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dropBaselineTables drops the temporary tables, so that the connection
// goes back to the pool without them.
func dropBaselineTables(conn *store.Conn) {
	for _, t := range baselineTables {
		conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+t) //nolint:errcheck // best effort; the next run drops them first
	}
}

// memoryLimit is the embedded DuckDB's memory_limit as it reads it, empty
// on PostgreSQL or when it cannot be read.
func memoryLimit(ctx context.Context, db *store.DB) string {
	var limit string
	if db.Dialect() != "duckdb" {
		return ""
	}
	if err := db.QueryRowContext(ctx, "SELECT current_setting('memory_limit')").Scan(&limit); err != nil {
		return ""
	}
	return limit
}

// baselineDB is the store a SQL baseline runs in: open's, or db without it.
func baselineDB(ctx context.Context, db *store.DB, open func(context.Context) (*store.DB, error)) (*store.DB, error) {
	if open == nil {
		return db, nil
	}
	return open(ctx)
}

// lapper returns a function that returns the time since start, or since
// its last call.
func lapper(start time.Time) func() time.Duration {
	return func() time.Duration {
		now := time.Now()
		d := now.Sub(start)
		start = now
		return d
	}
}

// resetPeakRSS restarts the process's peak resident memory (VmHWM, read by
// peakRSS) from its current size (Linux; elsewhere it does nothing).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) } //nolint:errcheck // best effort

// currentRSS is the process's resident memory now (Linux; 0 elsewhere).
func currentRSS() int64 { return procStatus("VmRSS:") }
