package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AttributeState is an attribute's last calculation, with the number of
// customers that have a value (from the cache).
type AttributeState struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	Entities   int64     `json:"entities"`
	ValueRows  int64     `json:"value_rows"`
	DurationMS float64   `json:"duration_ms"`
	FinishedAt time.Time `json:"finished_at"`
	Customers  int64     `json:"customers"`
	// CastFailures counts the events whose value did not convert in a
	// cast of the attribute's expressions in its last run: they counted
	// as NULL. CastFailureEventID is one of them.
	CastFailures       int64  `json:"cast_failures,omitempty"`
	CastFailureEventID string `json:"cast_failure_event_id,omitempty"`
}

// ValueCount is how many customers have one value of an attribute.
type ValueCount struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// AttributeValuesOf reads the values of entities: entity -> attribute ->
// values, sorted.
func (db *DB) AttributeValuesOf(ctx context.Context, ids []string) (map[string]map[string][]string, error) {
	out := map[string]map[string][]string{}
	err := db.each(ctx, "AttributeValuesOf", func(rows *sql.Rows) error {
		var ent, attr, v string
		if err := rows.Scan(&ent, &attr, &v); err != nil {
			return err
		}
		if out[ent] == nil {
			out[ent] = map[string][]string{}
		}
		out[ent][attr] = append(out[ent][attr], v)
		return nil
	}, ids)
	if err != nil {
		return nil, fmt.Errorf("read attribute values: %w", err)
	}
	return out, nil
}

// AttributeStates lists the attributes' last runs.
func (db *DB) AttributeStates(ctx context.Context) ([]AttributeState, error) {
	var out []AttributeState
	err := db.each(ctx, "AttributeStates", func(rows *sql.Rows) error {
		var s AttributeState
		err := rows.Scan(&s.ID, &s.Status, &s.Error, &s.Entities, &s.ValueRows, &s.DurationMS, &s.FinishedAt, &s.Customers, &s.CastFailures, &s.CastFailureEventID)
		s.FinishedAt = s.FinishedAt.UTC()
		out = append(out, s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read attribute states: %w", err)
	}
	return out, nil
}

// AttributeValueCounts returns an attribute's most frequent values from the
// cache, and how many customers have any value.
func (db *DB) AttributeValueCounts(ctx context.Context, id string, limit int) (int64, []ValueCount, error) {
	var customers int64
	if err := db.sql.QueryRowContext(ctx, db.q.get("AttributeCustomers"), id).Scan(&customers); err != nil {
		return 0, nil, fmt.Errorf("read attribute cache: %w", err)
	}
	out := []ValueCount{}
	err := db.each(ctx, "AttributeValueCounts", func(rows *sql.Rows) error {
		var v ValueCount
		err := rows.Scan(&v.Value, &v.Count)
		out = append(out, v)
		return err
	}, id, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("read attribute cache: %w", err)
	}
	return customers, out, nil
}
