package erasure

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// The suppression list (table suppressed_identifiers) holds, for every
// identifier of an erased person, the hex SHA-256 of the installation's
// salt, the category, a colon and the value, computed in SQL (weft_sha256)
// so that raw values never leave the database. The salt is 32 random bytes
// made by the first erasure and kept in erasure_state: without it a list
// of unsalted hashes of e-mail addresses could be reversed by hashing a
// list of known addresses once for every Weft installation. Someone who
// can read the whole database can still test a guessed value against the
// list (the salt is beside it); the list never tells them values they did
// not guess.

// ensureSalt returns the installation's salt, making it on first use.
func ensureSalt(ctx context.Context, db store.Executor) (string, error) {
	salt, err := readSalt(ctx, db)
	if err != nil || salt != "" {
		return salt, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	// Two processes may race: the first write wins, both read it back.
	if _, err := db.ExecContext(ctx, db.Query("ErasureSaltSet"), hex.EncodeToString(b)); err != nil {
		return "", fmt.Errorf("store the suppression salt: %w", err)
	}
	return readSalt(ctx, db)
}

func readSalt(ctx context.Context, db store.Executor) (string, error) {
	var salt string
	err := db.QueryRowContext(ctx, db.Query("ErasureSalt")).Scan(&salt)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoSalt
	}
	if err != nil {
		return "", fmt.Errorf("read the suppression salt: %w", err)
	}
	return salt, nil
}

// suppressedSQL is a query of the ids of the rows of from (as
// stitch.Config.IdentifiersSQL takes it) that carry a suppressed
// identifier under the rules, or "" when there are no rules. The salt is
// hex, so it is safe as a literal.
func suppressedSQL(rules stitch.Config, from, salt string) (string, error) {
	ids, err := rules.IdentifiersSQL(from)
	if err != nil || ids == "" {
		return "", err
	}
	return "SELECT r.id FROM (" + ids + ") r WHERE weft_sha256('" + salt +
		"' || r.category || ':' || r.value) IN (SELECT hash FROM suppressed_identifiers)", nil
}

// stagedEvents is event_staging (package store) as the rules read
// event_log: the columns it lacks are given values no rule should need.
const stagedEvents = "(SELECT id, CAST(0 AS BIGINT) AS seq, source_id, type, version, event_time, payload, event_time AS created_at FROM event_staging)"

// RulesFunc returns the stitching rules in force.
type RulesFunc func(ctx context.Context) (stitch.Config, error)

// Suppressor finds the events of an ingest batch that carry a suppressed
// identifier: DropQuery is the ingester's Suppress option
// (event.IngesterOpts).
type Suppressor struct {
	db    store.Executor
	rules RulesFunc
}

// NewSuppressor returns a Suppressor over db; rules gives the stitching
// rules in force, which decide what identifiers an event carries.
func NewSuppressor(db store.Executor, rules RulesFunc) *Suppressor {
	return &Suppressor{db: db, rules: rules}
}

// DropQuery returns the query of the staged events to drop, or "" when
// the suppression list is empty. It costs one small query per batch while
// the list is empty; otherwise the rules run over the staged batch in the
// append's transaction, set-based.
func (s *Suppressor) DropQuery(ctx context.Context) (string, error) {
	var salt string
	var any bool
	if err := s.db.QueryRowContext(ctx, s.db.Query("ErasureSuppressionAny")).Scan(&salt, &any); err != nil {
		return "", err
	}
	if !any || salt == "" {
		return "", nil
	}
	rules, err := s.rules(ctx)
	if err != nil {
		return "", err
	}
	return suppressedSQL(rules, stagedEvents, salt)
}

// sweepUnstitched deletes the events after the stitching watermark that
// carry a suppressed identifier under the rules in force: they arrived
// before the identifiers were suppressed and would build the person again
// when stitched.
func sweepUnstitched(ctx context.Context, db *store.DB, salt string) (int64, error) {
	rules, err := rulesInForce(ctx, db)
	if err != nil {
		return 0, err
	}
	var wm int64
	if err := db.QueryRowContext(ctx, db.Query("ErasureWatermark")).Scan(&wm); err != nil {
		return 0, fmt.Errorf("read the stitching watermark: %w", err)
	}
	from := fmt.Sprintf("(SELECT * FROM event_log WHERE seq > %d)", wm)
	q, err := suppressedSQL(rules, from, salt)
	if err != nil || q == "" {
		return 0, err
	}
	r, err := db.ExecContext(ctx, fmt.Sprintf("DELETE FROM event_log WHERE seq > %d AND id IN (%s)", wm, q))
	if err != nil {
		return 0, fmt.Errorf("delete unstitched events of erased identifiers: %w", err)
	}
	return r.RowsAffected()
}

// rulesInForce reads the stitching rules of the configuration in force
// from the store.
func rulesInForce(ctx context.Context, db store.Store) (stitch.Config, error) {
	stored, err := db.ConfigCurrent(ctx)
	if err != nil || stored.Version == 0 {
		return stitch.Config{}, err
	}
	var cfg config.Config
	if err := json.Unmarshal([]byte(stored.Normalized), &cfg); err != nil {
		return stitch.Config{}, fmt.Errorf("config version %d in the store: %w", stored.Version, err)
	}
	return cfg.EffectiveStitching(), nil
}
