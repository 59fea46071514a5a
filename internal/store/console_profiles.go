package store

import (
	"context"
	"database/sql"
	"fmt"
)

// The reads of the console's profile pages (package console) that the
// profiles API has no route for. Each is bounded: by one entity, a LIMIT
// or the list it is given.

// ProfileRecentScan is how many of the newest events ProfileRecent looks
// at for their entities.
const ProfileRecentScan = 500

// ProfileRecent returns the ids of up to limit live entities of the
// newest ProfileRecentScan stitched events, the most recently active
// first. Their profiles are not read: filling in 20 of them (identifiers,
// event counts) took seconds on the 10M store.
func (db *DB) ProfileRecent(ctx context.Context, limit int) ([]string, error) {
	var wm int64
	if err := db.sql.QueryRowContext(ctx, db.q.get("StitchWatermark")).Scan(&wm); err != nil {
		return nil, fmt.Errorf("read the stitching watermark: %w", err)
	}
	var ids []string
	err := db.each(ctx, "ProfileRecent", func(rows *sql.Rows) error {
		var id string
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	}, wm-ProfileRecentScan, limit)
	if err != nil {
		return nil, fmt.Errorf("read the recent entities: %w", err)
	}
	return ids, nil
}

// ValueHolder is an entity holding an identifier value in a category.
type ValueHolder struct {
	Category, EntityID string
}

// ProfileByValue returns up to limit entities holding value in any of the
// categories, by category.
func (db *DB) ProfileByValue(ctx context.Context, categories []string, value string, limit int) ([]ValueHolder, error) {
	var out []ValueHolder
	err := db.each(ctx, "ProfileByValue", func(rows *sql.Rows) error {
		var h ValueHolder
		err := rows.Scan(&h.Category, &h.EntityID)
		out = append(out, h)
		return err
	}, categories, value, limit)
	if err != nil {
		return nil, fmt.Errorf("find value in %d categories: %w", len(categories), err)
	}
	return out, nil
}

// ProfileTimelineParams select a page of an entity's events, newest first.
type ProfileTimelineParams struct {
	ID        string // a live entity
	BeforeSeq int64  // events with a smaller seq; 0 or less: from the newest
	Limit     int    // 1 to EventListLimitMax
}

// ProfileTimeline pages through a live entity's events newest first, by
// keyset on seq.
func (db *DB) ProfileTimeline(ctx context.Context, p *ProfileTimelineParams) ([]Event, error) {
	before := p.BeforeSeq
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := db.sql.QueryContext(ctx, db.q.get("ProfileTimeline"), p.ID, before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list entity events: %w", err)
	}
	return scanEvents(rows)
}

// IdentifierLink is an identifier of an entity and the event that linked
// it first.
type IdentifierLink struct {
	Category, Value string
	FirstSeq        int64
}

// ProfileIdentifierLinks returns up to limit identifiers of an entity, in
// the order they were linked.
func (db *DB) ProfileIdentifierLinks(ctx context.Context, id string, limit int) ([]IdentifierLink, error) {
	var out []IdentifierLink
	err := db.each(ctx, "ProfileIdentifierLinks", func(rows *sql.Rows) error {
		var l IdentifierLink
		err := rows.Scan(&l.Category, &l.Value, &l.FirstSeq)
		out = append(out, l)
		return err
	}, id, limit)
	if err != nil {
		return nil, fmt.Errorf("read identifiers of %s: %w", id, err)
	}
	return out, nil
}

// ProfileRefusedSeqs returns up to limit seqs of an entity's events that
// first carried a value the stitching guard rails refused (stitch_audit).
func (db *DB) ProfileRefusedSeqs(ctx context.Context, id string, limit int) ([]int64, error) {
	var out []int64
	err := db.each(ctx, "ProfileRefusedSeqs", func(rows *sql.Rows) error {
		var seq int64
		err := rows.Scan(&seq)
		out = append(out, seq)
		return err
	}, id, limit)
	if err != nil {
		return nil, fmt.Errorf("read refused links of %s: %w", id, err)
	}
	return out, nil
}

// ProfileRefusedAmong returns up to limit of the seqs given (all the events
// of an entity) whose events first carried a value the guard rails
// refused: ProfileRefusedSeqs when the entity's events are known already,
// reading the audit only.
func (db *DB) ProfileRefusedAmong(ctx context.Context, seqs []int64, limit int) ([]int64, error) {
	out := []int64{}
	if len(seqs) == 0 {
		return out, nil
	}
	err := db.each(ctx, "ProfileRefusedAmong", func(rows *sql.Rows) error {
		var seq int64
		err := rows.Scan(&seq)
		out = append(out, seq)
		return err
	}, seqs, limit)
	if err != nil {
		return nil, fmt.Errorf("read refused links of %d events: %w", len(seqs), err)
	}
	return out, nil
}

// ProfileEventsAt reads events by seq, without their payloads, in seq
// order.
func (db *DB) ProfileEventsAt(ctx context.Context, seqs []int64) ([]Event, error) {
	var out []Event
	if len(seqs) == 0 {
		return out, nil
	}
	err := db.each(ctx, "ProfileEventsAt", func(rows *sql.Rows) error {
		var e Event
		if err := rows.Scan(&e.Seq, &e.ID, &e.SourceID, &e.Type, &e.Version, &e.EventTime); err != nil {
			return err
		}
		e.EventTime = e.EventTime.UTC()
		out = append(out, e)
		return nil
	}, seqs)
	if err != nil {
		return nil, fmt.Errorf("read %d events: %w", len(seqs), err)
	}
	return out, nil
}

// EventIdentifier is an identifier value an event carries under the
// stitching rules.
type EventIdentifier struct {
	EventID, Category, Value string
}

// ProfileEventIdentifiers evaluates the stitching rules over the events
// with the given seqs: rules builds the query from the rows to read (as
// stitch.Config.IdentifiersSQL does). The rules are SQL from the config,
// so they run confined, read only.
func (db *DB) ProfileEventIdentifiers(ctx context.Context, rules func(from string) (string, error), seqs []int64) ([]EventIdentifier, error) {
	var out []EventIdentifier
	if len(seqs) == 0 {
		return out, nil
	}
	q, err := rules(db.q.get("ProfileEventRows"))
	if err != nil || q == "" {
		return out, err
	}
	err = RunConfigSQL(ctx, db, db.Capabilities(), true, func(x Executor) error {
		rows, err := x.QueryContext(ctx, q, seqs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ei EventIdentifier
			if err := rows.Scan(&ei.EventID, &ei.Category, &ei.Value); err != nil {
				return err
			}
			out = append(out, ei)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate the stitching rules over %d events: %w", len(seqs), err)
	}
	return out, nil
}

// LinkState is where an identifier value stands: the entity holding it
// (empty if none) and the guard rail that refused it (empty if none).
type LinkState struct {
	Category, Value string
	EntityID        string
	Refused         string // stitch_audit's reason: blocked, max_per_entity
}

// ProfileLinkStates reads the state of identifier values, given as
// parallel lists of categories and values. The identifiers are found by
// their key_hash (IdentifierKeyHash), then by their values.
func (db *DB) ProfileLinkStates(ctx context.Context, categories, values []string) ([]LinkState, error) {
	var out []LinkState
	if len(categories) == 0 {
		return out, nil
	}
	hashes := make([]int64, len(categories))
	for i := range categories {
		hashes[i] = IdentifierKeyHash(categories[i], values[i])
	}
	err := db.each(ctx, "ProfileLinkStates", func(rows *sql.Rows) error {
		var s LinkState
		var ent, reason sql.NullString
		if err := rows.Scan(&s.Category, &s.Value, &ent, &reason); err != nil {
			return err
		}
		s.EntityID, s.Refused = ent.String, reason.String
		out = append(out, s)
		return nil
	}, categories, values, hashes)
	if err != nil {
		return nil, fmt.Errorf("read the state of %d identifiers: %w", len(categories), err)
	}
	return out, nil
}

// IdentifierKeyHash is identifiers.key_hash (migration 008): FNV-1a, 64
// bits, of the category, a zero byte and the value. The stitcher writes it
// and looks identifiers up by it; so do the console's reads by (category,
// value), which otherwise compare the strings of every identifier (0.25 s
// of CPU on the 10M store, against milliseconds). It narrows only: the
// values decide.
func IdentifierKeyHash(category, value string) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(category); i++ {
		h = (h ^ uint64(category[i])) * prime
	}
	h *= prime // the zero byte
	for i := 0; i < len(value); i++ {
		h = (h ^ uint64(value[i])) * prime
	}
	return int64(h)
}
