package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The kinds of identity constraints an operator adds by hand.
const (
	// ConstraintBlock: one identifier never links (spec: Identifier).
	ConstraintBlock = "block"
	// ConstraintMerge: entities are one, whatever the guard rails say
	// (spec: MergeSpec).
	ConstraintMerge = "merge"
	// ConstraintSplit: identifiers are kept apart from others (spec:
	// SplitSpec).
	ConstraintSplit = "split"
)

// StitchConstraint is a decision about identity taken by hand, honoured by
// every stitching pass and rebuild until it is removed (table
// stitch_constraints, migration 034).
type StitchConstraint struct {
	// ID is 16 random hex characters.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Spec is the kind's JSON: an Identifier, a MergeSpec or a SplitSpec.
	Spec json.RawMessage `json:"spec"`
	// CreatedBy is the name of the API key that added it.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Identifier is one identifier: a stitching category and a value.
type Identifier struct {
	Category string `json:"category"`
	Value    string `json:"value"`
}

func (i Identifier) String() string { return i.Category + ":" + i.Value }

// MergeSpec is the spec of a merge: the entities as they were when it was
// asked, and the first event of each by (event_time, id), which name them
// for good (entity ids change when their components are re-clustered).
type MergeSpec struct {
	Entities []string `json:"entities"`
	Events   []string `json:"events"`
}

// SplitSpec is the spec of a split: the identifiers moved out of the
// entity, kept apart from the ones it kept.
type SplitSpec struct {
	Entity      string       `json:"entity"`
	Identifiers []Identifier `json:"identifiers"`
	ApartFrom   []Identifier `json:"apart_from"`
}

// StitchConstraintAddParams are a constraint to add.
type StitchConstraintAddParams struct {
	Kind string // ConstraintBlock, ConstraintMerge or ConstraintSplit
	// Spec is marshalled to JSON: an Identifier, a MergeSpec or a SplitSpec.
	Spec      any
	CreatedBy string
}

// StitchConstraintAdd stores a constraint with a new id, stamped now.
func (db *DB) StitchConstraintAdd(ctx context.Context, p *StitchConstraintAddParams) (*StitchConstraint, error) {
	switch p.Kind {
	case ConstraintBlock, ConstraintMerge, ConstraintSplit:
	default:
		return nil, fmt.Errorf("add stitching constraint: unknown kind %q", p.Kind)
	}
	spec, err := json.Marshal(p.Spec)
	if err != nil {
		return nil, fmt.Errorf("add stitching constraint: %w", err)
	}
	c := &StitchConstraint{ID: newConstraintID(), Kind: p.Kind, Spec: spec, CreatedBy: p.CreatedBy, CreatedAt: db.nowUTC()}
	if err := db.StitchConstraintPut(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// StitchConstraintPut stores a constraint as it is: what StitchConstraintAdd
// made, or one StitchConstraintDelete removed and the caller puts back.
func (db *DB) StitchConstraintPut(ctx context.Context, c *StitchConstraint) error {
	if _, err := db.sql.ExecContext(ctx, db.q.get("StitchConstraintInsert"), c.ID, c.Kind, string(c.Spec), c.CreatedBy, c.CreatedAt); err != nil {
		return fmt.Errorf("store stitching constraint %s: %w", c.ID, err)
	}
	return nil
}

// newConstraintID is a constraint's id: 16 hex characters, random, as
// API keys' ids are; short enough to type (weft identity constraints
// remove ID).
func newConstraintID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// StitchConstraintList returns every constraint, newest first. It reads
// through any Executor, so that a stitching pass reads them in its
// transaction.
func StitchConstraintList(ctx context.Context, x Executor) ([]StitchConstraint, error) {
	rows, err := x.QueryContext(ctx, x.Query("StitchConstraintList"))
	if err != nil {
		return nil, fmt.Errorf("list stitching constraints: %w", err)
	}
	defer rows.Close()
	out := []StitchConstraint{}
	for rows.Next() {
		c, err := scanConstraint(rows)
		if err != nil {
			return nil, fmt.Errorf("list stitching constraints: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list stitching constraints: %w", err)
	}
	return out, nil
}

// StitchConstraintList returns every constraint, newest first.
func (db *DB) StitchConstraintList(ctx context.Context) ([]StitchConstraint, error) {
	return StitchConstraintList(ctx, db)
}

// StitchConstraintGet returns a constraint, or ErrNotFound.
func (db *DB) StitchConstraintGet(ctx context.Context, id string) (*StitchConstraint, error) {
	return db.oneConstraint(ctx, "StitchConstraintGet", id)
}

// StitchConstraintDelete removes a constraint and returns it, or
// ErrNotFound.
func (db *DB) StitchConstraintDelete(ctx context.Context, id string) (*StitchConstraint, error) {
	return db.oneConstraint(ctx, "StitchConstraintDelete", id)
}

func (db *DB) oneConstraint(ctx context.Context, query, id string) (*StitchConstraint, error) {
	c, err := scanConstraint(db.sql.QueryRowContext(ctx, db.q.get(query), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("stitching constraint %s: %w", id, err)
	}
	return c, nil
}

func scanConstraint(row interface{ Scan(...any) error }) (*StitchConstraint, error) {
	var c StitchConstraint
	var spec string
	if err := row.Scan(&c.ID, &c.Kind, &spec, &c.CreatedBy, &c.CreatedAt); err != nil {
		return nil, err
	}
	c.Spec, c.CreatedAt = json.RawMessage(spec), c.CreatedAt.UTC()
	return &c, nil
}

// FirstEvent is an entity's first event by (event_time, id).
type FirstEvent struct {
	EntityID  string
	EventID   string
	EventTime time.Time
}

// EntityFirstEvents returns the first event of each of the entities (live
// ids), by entity id; an entity without events is missing.
func (db *DB) EntityFirstEvents(ctx context.Context, ids []string) (map[string]FirstEvent, error) {
	out := map[string]FirstEvent{}
	err := db.each(ctx, "StitchConstraintFirstEvents", func(rows *sql.Rows) error {
		var f FirstEvent
		err := rows.Scan(&f.EntityID, &f.EventID, &f.EventTime)
		f.EventTime = f.EventTime.UTC()
		out[f.EntityID] = f
		return err
	}, ids)
	if err != nil {
		return nil, fmt.Errorf("read first events: %w", err)
	}
	return out, nil
}

// EventEntities returns the entity each event (by event id) is in; an
// event not stitched yet is missing.
func (db *DB) EventEntities(ctx context.Context, eventIDs []string) (map[string]string, error) {
	out := map[string]string{}
	err := db.each(ctx, "StitchConstraintEventEntities", func(rows *sql.Rows) error {
		var ev, ent string
		err := rows.Scan(&ev, &ent)
		out[ev] = ent
		return err
	}, eventIDs)
	if err != nil {
		return nil, fmt.Errorf("read the entities of events: %w", err)
	}
	return out, nil
}

// IdentifierHolder is an entity that holds an identifier, or, Refused,
// that has events carrying it which were not joined through it.
type IdentifierHolder struct {
	Identifier
	EntityID string
	Refused  bool
}

// IdentifierHolders returns the entities that hold or carry the
// identifiers (tables identifiers and stitch_refused).
func (db *DB) IdentifierHolders(ctx context.Context, ids []Identifier) ([]IdentifierHolder, error) {
	cats, vals := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		cats[i], vals[i] = id.Category, id.Value
	}
	var out []IdentifierHolder
	err := db.each(ctx, "StitchConstraintIdentifierEntities", func(rows *sql.Rows) error {
		var h IdentifierHolder
		err := rows.Scan(&h.Category, &h.Value, &h.EntityID, &h.Refused)
		out = append(out, h)
		return err
	}, cats, vals)
	if err != nil {
		return nil, fmt.Errorf("read the entities of identifiers: %w", err)
	}
	return out, nil
}

// SplitByConstraint is a split a constraint made (table stitch_splits).
type SplitByConstraint struct {
	EntityID string    `json:"entity_id"`
	Parts    []string  `json:"parts"`
	SplitAt  time.Time `json:"split_at"`
}

// StitchConstraintSplits returns the splits the constraint made, oldest
// first.
func (db *DB) StitchConstraintSplits(ctx context.Context, id string) ([]SplitByConstraint, error) {
	out := []SplitByConstraint{}
	err := db.each(ctx, "StitchConstraintSplits", func(rows *sql.Rows) error {
		var s SplitByConstraint
		var parts string
		if err := rows.Scan(&s.EntityID, &parts, &s.SplitAt); err != nil {
			return err
		}
		s.SplitAt = s.SplitAt.UTC()
		if err := json.Unmarshal([]byte(parts), &s.Parts); err != nil {
			return fmt.Errorf("parts of the split of %s: %w", s.EntityID, err)
		}
		out = append(out, s)
		return nil
	}, id)
	if err != nil {
		return nil, fmt.Errorf("read the splits of constraint %s: %w", id, err)
	}
	return out, nil
}
