package erasure

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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
// not guess. (The ingest prefilter, prefilter.go, hashes in Go the values
// of the batch it checks: values a client has just sent, not read from the
// database.)

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

// suppressed selects the rows of from (as stitch.Config.IdentifiersSQL
// takes it) that carry a suppressed identifier under the rules, or is nil
// when there are no rules. The salt is hex, so it is safe as a literal.
func suppressed(rules stitch.Config, from, salt string) (*store.Drop, error) {
	ids, err := rules.IdentifiersSQL(from)
	if err != nil || ids == "" {
		return nil, err
	}
	return &store.Drop{Identifiers: ids,
		Match: "weft_sha256('" + salt + "' || r.category || ':' || r.value) IN (SELECT hash FROM suppressed_identifiers)"}, nil
}

// stagedEvents is event_staging (package store) as the rules read
// event_log: the columns it lacks are given values no rule should need.
const stagedEvents = "(SELECT id, CAST(0 AS BIGINT) AS seq, source_id, type, version, event_time, payload, event_time AS created_at FROM event_staging)"

// RulesFunc returns the stitching rules in force.
type RulesFunc func(ctx context.Context) (stitch.Config, error)

// Suppressor finds the events of an ingest batch that carry a suppressed
// identifier: DropQuery is the ingester's Suppress option
// (event.IngesterOpts). It keeps the list in memory (prefilter.go),
// reloaded when its version moves: every erasure that adds to the list
// moves erasure_state.list_version in the same transaction.
//
// Staleness: none. The version is read again inside each append's
// transaction (store.Drop.Unless): a batch found clean against an older
// list is checked in SQL instead. An erasure's sweep of unstitched events
// waits for the appends in progress (store.DB.EventDeleteIdentified), so
// an append that began before the list grew is swept after it commits.
type Suppressor struct {
	db    store.Executor
	rules RulesFunc

	mu         sync.Mutex
	version    int64
	hashes     map[[sha256.Size]byte]struct{}
	asciiLower *bool // whether the database's lower() is ASCII's, once asked
	ruleKey    string
	compiled   []goRule

	inGo, inSQL atomic.Int64
}

// Decisions counts the batches DropQuery checked in Go (the rules run in
// SQL only if the list moved before the append) and those it left to the
// rules in SQL: the benchmark shows that batches with a few suppressed
// people in them stay on the Go path.
func (s *Suppressor) Decisions() (inGo, inSQL int64) {
	return s.inGo.Load(), s.inSQL.Load()
}

// NewSuppressor returns a Suppressor over db; rules gives the stitching
// rules in force, which decide what identifiers an event carries.
func NewSuppressor(db store.Executor, rules RulesFunc) *Suppressor {
	return &Suppressor{db: db, rules: rules}
}

// DropQuery returns what selects the staged events (the batch events) to
// drop, or nil when nothing was ever suppressed. When Go can tell which
// events carry a listed identifier (none, usually), those are dropped by
// id, unless the list moved meanwhile; otherwise the rules run over the
// staged batch in the append's transaction, set-based.
func (s *Suppressor) DropQuery(ctx context.Context, events []store.EventInsert) (*store.Drop, error) {
	var salt string
	var version int64
	if err := s.db.QueryRowContext(ctx, s.db.Query("ErasureSuppressionState")).Scan(&salt, &version); err != nil {
		return nil, err
	}
	if salt == "" {
		return nil, nil
	}
	rules, err := s.rules(ctx)
	if err != nil {
		return nil, err
	}
	d, err := suppressed(rules, stagedEvents, salt)
	if err != nil || d == nil {
		return d, err
	}
	hits, certain, err := s.check(ctx, rules, salt, version, events)
	if err != nil {
		return nil, err
	}
	if !certain {
		s.inSQL.Add(1)
		return d, nil
	}
	s.inGo.Add(1)
	d.Unless, d.Seen, d.IDs = s.db.Query("ErasureListVersion"), version, hits
	return d, nil
}

// check returns the ids of the batch's events that carry an identifier
// of the list at version, and whether that is certain (false when Go
// cannot tell for some event).
func (s *Suppressor) check(ctx context.Context, rules stitch.Config, salt string, version int64, events []store.EventInsert) ([]string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx, rules, version); err != nil {
		return nil, false, err
	}
	if len(s.hashes) == 0 {
		return nil, true, nil
	}
	h := sha256.New()
	var sum [sha256.Size]byte
	var hits []string
	for i := range events {
		e := &events[i]
		for j := range s.compiled {
			r := &s.compiled[j]
			if !r.applies(e.EventTypeKey) {
				continue
			}
			if r.expr == nil {
				return nil, false, nil
			}
			v, null, exact := r.expr.eval(e.Payload, *s.asciiLower)
			if !exact {
				return nil, false, nil
			}
			if null {
				continue
			}
			h.Reset()
			h.Write([]byte(salt))
			h.Write([]byte(r.category))
			h.Write([]byte{':'})
			h.Write([]byte(v))
			if _, hit := s.hashes[[sha256.Size]byte(h.Sum(sum[:0]))]; hit {
				hits = append(hits, e.ID)
				break
			}
		}
	}
	return hits, true, nil
}

// load brings the list in memory to version, and the compiled rules to
// rules.
func (s *Suppressor) load(ctx context.Context, rules stitch.Config, version int64) error {
	if s.asciiLower == nil {
		var lowered string
		if err := s.db.QueryRowContext(ctx, "SELECT lower('ABCDEFGHIJKLMNOPQRSTUVWXYZ')").Scan(&lowered); err != nil {
			return err
		}
		ascii := lowered == "abcdefghijklmnopqrstuvwxyz"
		s.asciiLower = &ascii
	}
	if key := fmt.Sprint(rules.Rules); key != s.ruleKey {
		s.ruleKey, s.compiled = key, compileRules(rules)
	}
	if s.hashes != nil && s.version == version {
		return nil
	}
	hashes := map[[sha256.Size]byte]struct{}{}
	rows, err := s.db.QueryContext(ctx, s.db.Query("ErasureSuppressedHashes"))
	if err != nil {
		return fmt.Errorf("read the suppression list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hexHash string
		if err := rows.Scan(&hexHash); err != nil {
			return err
		}
		var b [sha256.Size]byte
		if _, err := hex.Decode(b[:], []byte(hexHash)); err != nil {
			return fmt.Errorf("suppression list: hash %q: %w", hexHash, err)
		}
		hashes[b] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.hashes, s.version = hashes, version
	return nil
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
	d, err := suppressed(rules, fmt.Sprintf("(SELECT * FROM event_log WHERE seq > %d)", wm), salt)
	if err != nil || d == nil {
		return 0, err
	}
	n, err := db.EventDeleteIdentified(ctx, fmt.Sprintf("seq > %d", wm), d)
	if err != nil {
		return 0, fmt.Errorf("delete unstitched events of erased identifiers: %w", err)
	}
	return n, nil
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
