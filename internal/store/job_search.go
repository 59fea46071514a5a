package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"time"
)

// JobLogSearchParams select lines of a run's log.
type JobLogSearchParams struct {
	RunID string
	// AfterID is the last line id seen (0 for the start).
	AfterID int64
	// MinLevel is an index into LogLevels.
	MinLevel int
	// Since and Until bound the lines' time, Since <= at < Until; zero
	// times match all.
	Since, Until time.Time
	// Match, when set, keeps only the lines it accepts (a search: the
	// same on every backend, unlike their regular expressions).
	Match func(*JobLog) bool
	Limit int
}

// logsFrom and logsTo stand for unbounded times, so that no query needs
// a NULL parameter (whose type PostgreSQL cannot infer).
var (
	logsFrom = time.Unix(0, 0).UTC()
	logsTo   = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

func timeRange(since, until time.Time) (time.Time, time.Time) {
	if since.IsZero() {
		since = logsFrom
	}
	if until.IsZero() {
		until = logsTo
	}
	return since, until
}

var errEnough = errors.New("enough lines")

// JobLogSearch reads a run's log lines in order, as p selects.
func (db *DB) JobLogSearch(ctx context.Context, p *JobLogSearchParams) ([]JobLog, error) {
	since, until := timeRange(p.Since, p.Until)
	scan := p.Limit
	if p.Match != nil {
		scan = math.MaxInt32 // the lines are matched here, reading on until enough do
	}
	out := []JobLog{}
	err := db.each(ctx, "JobLogList", func(rows *sql.Rows) error {
		var l JobLog
		var fields string
		if err := rows.Scan(&l.ID, &l.At, &l.Level, &l.Message, &fields); err != nil {
			return err
		}
		l.At, l.Fields = l.At.UTC(), json.RawMessage(fields)
		if p.Match != nil && !p.Match(&l) {
			return nil
		}
		out = append(out, l)
		if len(out) >= p.Limit {
			return errEnough
		}
		return nil
	}, p.RunID, p.AfterID, p.MinLevel, since, until, scan)
	if errors.Is(err, errEnough) {
		err = nil
	}
	return out, err
}
