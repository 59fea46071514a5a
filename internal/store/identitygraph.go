package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The reads of the identity graph (package identitygraph) and of an
// entity's history of merges and splits. Each is bounded by one entity,
// a LIMIT or the split log, which holds one row per split.

// GraphRow is an identifier value an event of the entity carries under
// one stitching rule.
type GraphRow struct {
	Rule      int // index of the rule in stitching.rules
	Seq       int64
	EventID   string
	Type      string
	EventTime time.Time
	Category  string
	Value     string
}

// GraphEventIdentifiers evaluates the stitching rules over an entity's
// first limit events (by seq). rules builds the query from the rows to
// read, a parenthesized subquery with event_log's columns; the query must
// answer the columns of GraphRow in order. The rules are SQL from the
// config, so they run confined, read only.
func (db *DB) GraphEventIdentifiers(ctx context.Context, rules func(from string) (string, error), id string, limit int) ([]GraphRow, error) {
	var out []GraphRow
	q, err := rules(db.q.get("GraphEvents"))
	if err != nil || q == "" {
		return out, err
	}
	err = RunConfigSQL(ctx, db, db.Capabilities(), true, func(x Executor) error {
		rows, err := x.QueryContext(ctx, q, id, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r GraphRow
			if err := rows.Scan(&r.Rule, &r.Seq, &r.EventID, &r.Type, &r.EventTime, &r.Category, &r.Value); err != nil {
				return err
			}
			r.EventTime = r.EventTime.UTC()
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate the stitching rules over the events of %s: %w", id, err)
	}
	return out, nil
}

// RefusedLink is a link the stitching engine refused (stitch_refused): an
// event of the entity carries the value, and the guard rail or the manual
// split that kept it out.
type RefusedLink struct {
	Category, Value, Reason string
	Seq                     int64
	EventID, Type           string
	EventTime               time.Time
}

// GraphRefused returns up to limit refused links of an entity's events.
func (db *DB) GraphRefused(ctx context.Context, id string, limit int) ([]RefusedLink, error) {
	var out []RefusedLink
	err := db.each(ctx, "GraphRefused", func(rows *sql.Rows) error {
		var r RefusedLink
		err := rows.Scan(&r.Category, &r.Value, &r.Reason, &r.Seq, &r.EventID, &r.Type, &r.EventTime)
		r.EventTime = r.EventTime.UTC()
		out = append(out, r)
		return err
	}, id, limit)
	if err != nil {
		return nil, fmt.Errorf("read refused links of %s: %w", id, err)
	}
	return out, nil
}

// Split is one entry of the split log: an entity the stitching engine cut
// in parts, and what revealed the conflict (an identifier and an event),
// or the manual constraint that asked for it.
type Split struct {
	EntityID     string    `json:"entity_id"`
	Parts        []string  `json:"parts"`
	Category     string    `json:"category,omitempty"`
	Value        string    `json:"value,omitempty"`
	EventSeq     int64     `json:"event_seq,omitempty"`
	ConstraintID string    `json:"constraint_id,omitempty"`
	SplitAt      time.Time `json:"split_at"`
}

func scanSplit(rows interface{ Scan(...any) error }) (Split, error) {
	var s Split
	var parts string
	var cat, val, constraint sql.NullString
	var seq sql.NullInt64
	if err := rows.Scan(&s.EntityID, &parts, &cat, &val, &seq, &constraint, &s.SplitAt); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(parts), &s.Parts); err != nil {
		return s, fmt.Errorf("parts of the split of %s: %w", s.EntityID, err)
	}
	s.Category, s.Value, s.EventSeq, s.ConstraintID = cat.String, val.String, seq.Int64, constraint.String
	s.SplitAt = s.SplitAt.UTC()
	return s, nil
}

// EntitySplits lists the splits of a live entity (and of the entities
// merged into it) and those that made it, newest first.
func (db *DB) EntitySplits(ctx context.Context, id string) ([]Split, error) {
	out := []Split{}
	err := db.each(ctx, "EntitySplits", func(rows *sql.Rows) error {
		s, err := scanSplit(rows)
		out = append(out, s)
		return err
	}, id)
	if err != nil {
		return nil, fmt.Errorf("list splits of %s: %w", id, err)
	}
	return out, nil
}

// EntityResolved is what an entity id stands for now: a live entity
// (Live), or the split that ended it (Split), the id being none of the
// parts.
type EntityResolved struct {
	Live  string
	Split *Split
}

// splitPartsDepth bounds how many splits of splits SplitLiveParts follows.
const splitPartsDepth = 16

// SplitLiveParts resolves the parts of a split to the live entities they
// are now (merged since, or split again), sorted, each once; a part
// erased since is left out.
func (db *DB) SplitLiveParts(ctx context.Context, parts []string) ([]string, error) {
	seen := map[string]bool{}
	if err := db.splitLiveParts(ctx, parts, splitPartsDepth, seen); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

func (db *DB) splitLiveParts(ctx context.Context, parts []string, depth int, seen map[string]bool) error {
	for _, p := range parts {
		res, err := db.EntityResolve(ctx, p)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if res.Split == nil {
			seen[res.Live] = true
			continue
		}
		if depth == 0 {
			return fmt.Errorf("the parts of %s split more than %d times", p, splitPartsDepth)
		}
		if err := db.splitLiveParts(ctx, res.Split.Parts, depth-1, seen); err != nil {
			return err
		}
	}
	return nil
}

// EntityResolve follows an id through merges (as EntityLive does) and
// splits: an entity that split and kept none of its events (the engine
// points its merged_into at the part that holds its first event) resolves
// to its newest split, whose parts answer for it. ErrNotFound if the id
// never existed.
func (db *DB) EntityResolve(ctx context.Context, id string) (*EntityResolved, error) {
	for range mergeChainMax {
		var into sql.NullString
		err := db.sql.QueryRowContext(ctx, db.q.get("EntityMergedInto"), id).Scan(&into)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read entity %s: %w", id, err)
		}
		if err == nil && !into.Valid {
			return &EntityResolved{Live: id}, nil
		}
		s, serr := db.entitySplitOf(ctx, id)
		switch {
		case serr == nil && !slices.Contains(s.Parts, id):
			return &EntityResolved{Split: s}, nil
		case serr != nil && !errors.Is(serr, ErrNotFound):
			return nil, serr
		case errors.Is(err, sql.ErrNoRows):
			return nil, ErrNotFound
		}
		id = into.String
	}
	return nil, fmt.Errorf("entity %s: merge chain longer than %d", id, mergeChainMax)
}

// entitySplitOf returns the newest split of an entity, or ErrNotFound.
func (db *DB) entitySplitOf(ctx context.Context, id string) (*Split, error) {
	s, err := scanSplit(db.sql.QueryRowContext(ctx, db.q.get("EntitySplitOf"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read the split of %s: %w", id, err)
	}
	return &s, nil
}
