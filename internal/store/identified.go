package store

import (
	"context"
	"fmt"
	"strings"
)

// EventDeleteIdentified deletes the events of the log (with cond, when
// not empty, as a further condition) whose ids d.Identifiers gives with an
// identifier d.Match selects, and returns how many it deleted. It waits
// for the appends in progress and holds off new ones meanwhile, as an
// append does (the package doc): an append that checked its batch against
// an older suppression list has committed when it looks.
func (db *DB) EventDeleteIdentified(ctx context.Context, cond string, d *Drop) (int64, error) {
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	var n int64
	err := db.InTx(ctx, func(tx ExecutorTx) error {
		if _, err := tx.ExecContext(ctx, db.q.get("EventAppendLock")); err != nil {
			return fmt.Errorf("lock event log: %w", err)
		}
		var err error
		n, err = db.deleteIdentified(ctx, func(ctx context.Context, q string, args ...any) (int64, error) {
			r, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, err
			}
			return r.RowsAffected()
		}, "event_log", cond, d)
		return err
	})
	return n, err
}

// deleteIdentified is DeleteIdentified over a statement runner. The
// identifiers come from SQL from the config: where the engine confines
// such SQL per transaction (PostgreSQL: a restricted role), they are
// collected confined into the temporary table identified_rows, then
// matched and deleted as Weft's own role; elsewhere (DuckDB, confined for
// good) in one statement.
func (db *DB) deleteIdentified(ctx context.Context, exec func(context.Context, string, ...any) (int64, error), table, cond string, d *Drop) (int64, error) {
	where := ""
	if cond != "" {
		where = cond + " AND "
	}
	confine := db.backend.ConfineConfigSQL(false)
	if len(confine) == 0 {
		return exec(ctx, "DELETE FROM "+table+" WHERE "+where+"id IN (SELECT r.id FROM ("+d.Identifiers+") r WHERE "+d.Match+")")
	}
	stmts := append(confine, db.q.get("IdentifiedRowsCreate"), db.q.get("IdentifiedRowsClear"),
		"INSERT INTO identified_rows SELECT id, category, value FROM ("+d.Identifiers+") r")
	for _, q := range append(stmts, db.backend.UnconfineConfigSQL()...) {
		if _, err := exec(ctx, q); err != nil {
			return 0, err
		}
	}
	n, err := exec(ctx, "DELETE FROM "+table+" WHERE "+where+"id IN (SELECT r.id FROM identified_rows r WHERE "+d.Match+")")
	if err != nil {
		return 0, err
	}
	// The values of the rows just deleted go too.
	_, err = exec(ctx, db.q.get("IdentifiedRowsClear"))
	return n, err
}

// quoteList is ids as SQL string literals, comma separated: event ids
// hold no NUL (package event checks), and doubling quotes is the only
// escape the literals need on both engines.
func quoteList(ids []string) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("'" + strings.ReplaceAll(id, "'", "''") + "'")
	}
	return b.String()
}
