package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// EventCountsParams is a seq range of the log: after AfterSeq, up to and
// including UptoSeq.
type EventCountsParams struct {
	AfterSeq, UptoSeq int64
}

// EventCounts are the events of a seq range counted per day and source
// and per event type.
type EventCounts struct {
	// Days counts events per UTC day (YYYY-MM-DD) and source.
	Days []DaySourceCount
	// Types counts events per event type.
	Types []EventTypeCount
}

// DaySourceCount is how many events of a source have their event time on
// a UTC day.
type DaySourceCount struct {
	Day      string `json:"day"`
	SourceID string `json:"source_id"`
	Events   int64  `json:"events"`
}

// EventTypeCount is how many events an event type has.
type EventTypeCount struct {
	EventTypeKey
	Events int64 `json:"events"`
}

// EventCounts counts the events of a seq range per day and source and per
// event type, in one scan of the range.
func (db *DB) EventCounts(ctx context.Context, p *EventCountsParams) (*EventCounts, error) {
	out := &EventCounts{}
	err := db.each(ctx, "EventCountsBySeq", func(rows *sql.Rows) error {
		var day sql.NullInt64
		var typ, version sql.NullString
		var source string
		var n int64
		if err := rows.Scan(&day, &source, &typ, &version, &n); err != nil {
			return err
		}
		if day.Valid {
			out.Days = append(out.Days, DaySourceCount{time.Unix(day.Int64*86400, 0).UTC().Format(time.DateOnly), source, n})
		} else {
			out.Types = append(out.Types, EventTypeCount{EventTypeKey{source, typ.String, version.String}, n})
		}
		return nil
	}, p.AfterSeq, p.UptoSeq)
	if err != nil {
		return nil, fmt.Errorf("event counts: %w", err)
	}
	return out, nil
}

// StatsVersion changes when what Stats counts does: new events or a
// stitching pass. Erasure and retention delete without changing it.
type StatsVersion struct {
	MaxSeq, StitchedSeq int64
}

// StatsVersion reads the version of the store's figures, cheaply.
func (db *DB) StatsVersion(ctx context.Context) (StatsVersion, error) {
	var v StatsVersion
	if err := db.sql.QueryRowContext(ctx, db.q.get("StatsVersion")).Scan(&v.MaxSeq, &v.StitchedSeq); err != nil {
		return v, fmt.Errorf("stats version: %w", err)
	}
	return v, nil
}
