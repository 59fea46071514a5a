package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// SegmentRun is one run of the segments job for one segment (a row of
// segment_runs): the segment's size after it and what changed.
type SegmentRun struct {
	RunID      string    `json:"run_id"`
	FinishedAt time.Time `json:"finished_at"`
	// FullRun says the run evaluated everyone (the definition changed),
	// not only the entities whose inputs changed.
	FullRun    bool    `json:"full_run"`
	Size       int64   `json:"size"`
	Entered    int64   `json:"entered"`
	Exited     int64   `json:"exited"`
	DurationMS float64 `json:"duration_ms"`
	// Status is ok or error, with Error.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// SegmentState is a segment's current number of members and its last run
// (nil before the first).
type SegmentState struct {
	Size    int64
	LastRun *SegmentRun
}

// SegmentStates reads the size and last run of the segments ids; a segment
// with no member and no run is left out.
func (db *DB) SegmentStates(ctx context.Context, ids []string) (map[string]*SegmentState, error) {
	out := map[string]*SegmentState{}
	state := func(id string) *SegmentState {
		if out[id] == nil {
			out[id] = &SegmentState{}
		}
		return out[id]
	}
	err := db.each(ctx, "SegmentReadSizes", func(rows *sql.Rows) error {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		state(id).Size = n
		return nil
	}, ids)
	if err != nil {
		return nil, fmt.Errorf("count segment members: %w", err)
	}
	err = db.each(ctx, "SegmentReadLastRuns", func(rows *sql.Rows) error {
		var id string
		run, err := scanSegmentRun(rows, &id)
		state(id).LastRun = run
		return err
	}, ids, 1)
	if err != nil {
		return nil, fmt.Errorf("read segment runs: %w", err)
	}
	return out, nil
}

// SegmentRunListLimitMax bounds one answer of SegmentRunList.
const SegmentRunListLimitMax = 1000

// SegmentRunList reads a segment's runs, newest first.
func (db *DB) SegmentRunList(ctx context.Context, id string, limit int) ([]SegmentRun, error) {
	out := []SegmentRun{}
	err := db.each(ctx, "SegmentReadRuns", func(rows *sql.Rows) error {
		run, err := scanSegmentRun(rows)
		if err == nil {
			out = append(out, *run)
		}
		return err
	}, id, limit)
	if err != nil {
		return nil, fmt.Errorf("read segment runs: %w", err)
	}
	return out, nil
}

// scanSegmentRun reads a run, after the columns of lead if any.
func scanSegmentRun(rows *sql.Rows, lead ...any) (*SegmentRun, error) {
	var r SegmentRun
	err := rows.Scan(append(lead, &r.RunID, &r.FinishedAt, &r.FullRun, &r.Size, &r.Entered, &r.Exited,
		&r.DurationMS, &r.Status, &r.Error)...)
	r.FinishedAt = r.FinishedAt.UTC()
	return &r, err
}

// SegmentMember is a member of a segment and when it entered.
type SegmentMember struct {
	EntityID  string    `json:"entity_id"`
	EnteredAt time.Time `json:"entered_at"`
}

// SegmentMemberListLimitMax bounds one page of SegmentMemberList.
const SegmentMemberListLimitMax = 1000

// SegmentMemberListParams select a page of a segment's members, ordered by
// entity id.
type SegmentMemberListParams struct {
	SegmentID string
	After     string // entity ids greater than this
	Limit     int    // 1 to SegmentMemberListLimitMax (+1 to learn whether more follow)
}

// SegmentMemberList pages through a segment's members by entity id.
func (db *DB) SegmentMemberList(ctx context.Context, p *SegmentMemberListParams) ([]SegmentMember, error) {
	out := []SegmentMember{}
	err := db.each(ctx, "SegmentReadMembers", func(rows *sql.Rows) error {
		var m SegmentMember
		err := rows.Scan(&m.EntityID, &m.EnteredAt)
		m.EnteredAt = m.EnteredAt.UTC()
		out = append(out, m)
		return err
	}, p.SegmentID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list segment members: %w", err)
	}
	return out, nil
}

// SegmentsOf reads the segments entities are members of: entity id →
// segment ids, sorted, in one query for them all.
func (db *DB) SegmentsOf(ctx context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := db.each(ctx, "SegmentReadOfEntities", func(rows *sql.Rows) error {
		var ent, seg string
		if err := rows.Scan(&ent, &seg); err != nil {
			return err
		}
		out[ent] = append(out[ent], seg)
		return nil
	}, ids)
	if err != nil {
		return nil, fmt.Errorf("read segment memberships: %w", err)
	}
	for _, segs := range out {
		slices.Sort(segs)
	}
	return out, nil
}
