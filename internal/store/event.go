package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// EventAppendMany appends events in one transaction; see Store.
func (db *DB) EventAppendMany(ctx context.Context, params *EventAppendManyParams) (*EventAppendManyResult, error) {
	if len(params.Events) == 0 {
		return &EventAppendManyResult{}, nil
	}
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	newTypes := db.unknownTypes(params.Events)
	res, err := db.appendEvents(ctx, params, newTypes)
	if err != nil {
		return nil, fmt.Errorf("append %d events: %w", len(params.Events), err)
	}
	for _, k := range newTypes {
		db.knownTypes[k] = struct{}{}
	}
	return res, nil
}

// appendEvents runs one append transaction.
func (db *DB) appendEvents(ctx context.Context, params *EventAppendManyParams, newTypes []EventTypeKey) (*EventAppendManyResult, error) {
	now := db.nowUTC()
	res := &EventAppendManyResult{}
	err := db.backend.Bulk(ctx, func(tx BulkTx) error {
		// A single-writer engine's appends are serialized by appendMu
		// alone: its lock statement is a no-op that costs a statement.
		if !db.backend.SingleWriter() {
			if _, err := tx.Exec(ctx, db.q.get("EventAppendLock")); err != nil {
				return fmt.Errorf("lock event log: %w", err)
			}
		}
		if app, ok := tx.(EventAppender); ok && len(newTypes) == 0 && params.Drop == nil {
			n, err := app.AppendEvents(ctx, params.Events, now)
			if err != nil {
				return fmt.Errorf("insert events: %w", err)
			}
			res.Inserted = n
			return nil
		}
		if err := tx.LoadEvents(ctx, params.Events); err != nil {
			return fmt.Errorf("stage events: %w", err)
		}
		if len(newTypes) > 0 {
			if _, err := tx.Exec(ctx, db.q.get("SourceInsertFromStaging"), now); err != nil {
				return fmt.Errorf("register sources: %w", err)
			}
			if _, err := tx.Exec(ctx, db.q.get("EventTypeInsertFromStaging"), now); err != nil {
				return fmt.Errorf("register event types: %w", err)
			}
		}
		// The catalog statements ran first: the process now counts the
		// batch's types as known, dropped events' types included.
		if d := params.Drop; d != nil {
			skip := false
			if d.Unless != "" {
				seen, err := tx.Int(ctx, d.Unless)
				if err != nil {
					return fmt.Errorf("drop suppressed events: %w", err)
				}
				skip = seen == d.Seen
			}
			var n int64
			var err error
			switch {
			case !skip:
				n, err = db.deleteIdentified(ctx, tx.Exec, "event_staging", "", d)
			case len(d.IDs) > 0:
				n, err = tx.Exec(ctx, "DELETE FROM event_staging WHERE id IN ("+quoteList(d.IDs)+")")
			}
			if err != nil {
				return fmt.Errorf("drop suppressed events: %w", err)
			}
			res.Dropped = int(n)
		}
		n, err := tx.Exec(ctx, db.q.get("EventInsertFromStaging"), now)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Inserted = int(n)
		return nil
	})
	return res, err
}

// unknownTypes lists the batch's event types that this process has not yet
// seen committed. Catalog entries are never removed, so once one is known
// the catalog statements can be skipped for it. Called under appendMu.
func (db *DB) unknownTypes(events []EventInsert) []EventTypeKey {
	var out []EventTypeKey
	for _, e := range events {
		if _, ok := db.knownTypes[e.EventTypeKey]; !ok && !slices.Contains(out, e.EventTypeKey) {
			out = append(out, e.EventTypeKey)
		}
	}
	return out
}

// EventList reads a page of the log.
func (db *DB) EventList(ctx context.Context, params *EventListParams) ([]Event, error) {
	limit := params.Limit
	if limit <= 0 || limit > EventListLimitMax {
		return nil, fmt.Errorf("event list limit %d is outside 1..%d", limit, EventListLimitMax)
	}
	name, after := "EventList", params.AfterSeq
	if params.Desc {
		name = "EventListDesc"
		if after <= 0 {
			after = 1<<63 - 1
		}
	}
	rows, err := db.sql.QueryContext(ctx, db.q.get(name), after, params.SourceID, params.Type, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return scanEvents(rows)
}

// scanEvents reads and closes rows of events.
func scanEvents(rows *sql.Rows) ([]Event, error) {
	defer rows.Close()
	events := []Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return events, nil
}

func scanEvent(rows *sql.Rows) (Event, error) {
	var e Event
	var payload string
	err := rows.Scan(&e.Seq, &e.ID, &e.SourceID, &e.Type, &e.Version, &e.EventTime, &payload, &e.CreatedAt)
	e.EventTime = e.EventTime.UTC()
	e.CreatedAt = e.CreatedAt.UTC()
	e.Payload = []byte(payload)
	return e, err
}
