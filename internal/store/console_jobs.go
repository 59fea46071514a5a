package store

import (
	"context"
	"database/sql"
	"time"
)

// JobRunPageParams filter and page a list of runs; empty strings match
// all.
type JobRunPageParams struct {
	Job, Status, Kind string
	// BeforeAt and BeforeID are the created time and id of the last run of
	// the previous page; zero for the first page.
	BeforeAt time.Time
	BeforeID string
	Limit    int
}

// keysetEnd is the cursor of a first page: later than any run.
var keysetEnd = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// JobRunPage lists runs newest first, a page at a time (keyset paging on
// created time and id).
func (db *DB) JobRunPage(ctx context.Context, p *JobRunPageParams) ([]*JobRun, error) {
	before := p.BeforeAt
	if before.IsZero() {
		before = keysetEnd
	}
	return db.jobRuns(ctx, "JobRunPage", p.Job, p.Status, p.Kind, p.Limit, before, p.BeforeID)
}

// JobRunLatest returns the newest run of every job, by job.
func (db *DB) JobRunLatest(ctx context.Context) (map[string]*JobRun, error) {
	runs, err := db.jobRuns(ctx, "JobRunLatest")
	out := make(map[string]*JobRun, len(runs))
	for _, r := range runs {
		out[r.Job] = r
	}
	return out, err
}

func (db *DB) jobRuns(ctx context.Context, query string, args ...any) ([]*JobRun, error) {
	out := []*JobRun{}
	err := db.each(ctx, query, func(rows *sql.Rows) error {
		r, err := scanJobRun(rows)
		if err == nil {
			out = append(out, r)
		}
		return err
	}, args...)
	return out, err
}
