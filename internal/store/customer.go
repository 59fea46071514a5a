package store

import (
	"context"
	"database/sql"
	"fmt"
)

// CustomerPageParams select a page of live entities by id, as
// EntityListParams do, optionally only the members of a segment.
type CustomerPageParams struct {
	After string // ids greater than this
	Limit int    // 0 to EntityListLimitMax
	// Segment, when set, keeps the members of this segment.
	Segment string
}

// CustomerPage pages through the live entities, or the live members of a
// segment, by id.
func (db *DB) CustomerPage(ctx context.Context, p *CustomerPageParams) ([]Entity, error) {
	if p.Segment == "" {
		return db.entities(ctx, db.q.get("EntityPage"), p.After, p.Limit)
	}
	return db.entities(ctx, db.q.get("CustomerSegmentPage"), p.Segment, p.After, p.Limit)
}

// CustomerFind returns the live entities holding identifiers of one
// category: value → entity id, values no entity holds left out. It costs
// one query, and one more per step of the longest merge chain.
func (db *DB) CustomerFind(ctx context.Context, category string, values []string) (map[string]string, error) {
	out := map[string]string{}
	err := db.each(ctx, "CustomerByIdentifiers", func(rows *sql.Rows) error {
		var v, id string
		err := rows.Scan(&v, &id)
		out[v] = id
		return err
	}, category, values)
	if err != nil {
		return nil, fmt.Errorf("find identifiers of %s: %w", category, err)
	}
	for range mergeChainMax {
		into, err := db.mergedInto(ctx, out)
		if err != nil || len(into) == 0 {
			return out, err
		}
		for v, id := range out {
			if next, ok := into[id]; ok {
				out[v] = next
			}
		}
	}
	return nil, fmt.Errorf("find identifiers of %s: merge chain longer than %d", category, mergeChainMax)
}

// mergedInto reads where the entities of ids (a value → id map) were
// merged into, for those merged.
func (db *DB) mergedInto(ctx context.Context, ids map[string]string) (map[string]string, error) {
	list := make([]string, 0, len(ids))
	for _, id := range ids {
		list = append(list, id)
	}
	into := map[string]string{}
	err := db.each(ctx, "CustomerMergedInto", func(rows *sql.Rows) error {
		var id, next string
		err := rows.Scan(&id, &next)
		into[id] = next
		return err
	}, list)
	if err != nil {
		return nil, fmt.Errorf("follow merges: %w", err)
	}
	return into, nil
}

// CustomerEventsParams select the newest events of several live entities.
type CustomerEventsParams struct {
	IDs []string
	// BeforeSeq keeps the events older than this seq (0: all).
	BeforeSeq int64
	Limit     int // per entity, 0 to EventListLimitMax
}

// CustomerEvents reads the newest events of each entity of p.IDs, newest
// first, in one query: entity id → events.
func (db *DB) CustomerEvents(ctx context.Context, p *CustomerEventsParams) (map[string][]Event, error) {
	before := p.BeforeSeq
	if before <= 0 {
		before = 1<<63 - 1
	}
	out := map[string][]Event{}
	err := db.each(ctx, "CustomerEventsNewest", func(rows *sql.Rows) error {
		var id, payload string
		var e Event
		if err := rows.Scan(&id, &e.Seq, &e.ID, &e.SourceID, &e.Type, &e.Version, &e.EventTime, &payload, &e.CreatedAt); err != nil {
			return err
		}
		e.EventTime, e.CreatedAt, e.Payload = e.EventTime.UTC(), e.CreatedAt.UTC(), []byte(payload)
		out[id] = append(out[id], e)
		return nil
	}, p.IDs, before, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list customer events: %w", err)
	}
	return out, nil
}

// CustomerGet reads the profiles of entities by id, in no set order; ids
// that are not entities are left out.
func (db *DB) CustomerGet(ctx context.Context, ids []string) ([]Entity, error) {
	return db.entities(ctx, db.q.get("EntityRows"), ids)
}
