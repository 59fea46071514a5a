package trackplan

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// ExamplesKept is how many examples are kept per event type and rule.
const ExamplesKept = 20

// countsKept is how long the hourly counts are kept.
const countsKept = 90 * 24 * time.Hour

// countKey groups violations in tracking_plan_counts.
type countKey struct{ eventType, rule, mode string }

// record stores the violations of a batch: a fixed handful of statements
// in one transaction, whatever the batch's size.
func (c *Checker) record(ctx context.Context, vs []Violation) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	hour := now.Truncate(time.Hour)
	counts := map[countKey]int64{}
	perEvent := map[*store.EventInsert]Mode{}
	var ex examples
	kept := map[countKey]int{}
	// An event counts once per rule, however many places fail it; one
	// example per event id and rule (a batch may repeat an id).
	seen := map[[3]string]bool{}
	for _, v := range vs {
		k := countKey{v.Event.EventTypeKey.ID(), v.Rule, string(v.Mode)}
		perEvent[v.Event] = v.Mode
		id := [3]string{k.eventType, k.rule, v.Event.ID}
		if seen[id] {
			continue
		}
		seen[id] = true
		counts[k]++
		if kept[k] < ExamplesKept {
			kept[k]++
			ex.add(v)
		}
	}
	keys := make([]countKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	// One order for every writer: two PostgreSQL processes updating the
	// same counts lock them in the same order and never deadlock.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.eventType != b.eventType {
			return a.eventType < b.eventType
		}
		if a.rule != b.rule {
			return a.rule < b.rule
		}
		return a.mode < b.mode
	})
	var types, rules, modes []string
	var ns []int64
	touched := map[string]bool{}
	var touchedTypes []string
	for _, k := range keys {
		types, rules, modes, ns = append(types, k.eventType), append(rules, k.rule), append(modes, k.mode), append(ns, counts[k])
		if !touched[k.eventType] {
			touched[k.eventType] = true
			touchedTypes = append(touchedTypes, k.eventType)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.db.InTx(ctx, func(tx store.ExecutorTx) error {
		if _, err := tx.ExecContext(ctx, tx.Query("TrackingPlanCountsAdd"), types, rules, modes, ns, hour, now); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Query("TrackingPlanExamplesAdd"), ex.types, ex.rules, ex.ids, ex.sources, ex.modes,
			ex.times, ex.messages, ex.paths, now); err != nil {
			return fmt.Errorf("keep examples: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Query("TrackingPlanExamplesPrune"), touchedTypes, ExamplesKept); err != nil {
			return fmt.Errorf("prune examples: %w", err)
		}
		if hour.After(c.prunedHour) {
			if _, err := tx.ExecContext(ctx, tx.Query("TrackingPlanCountsPrune"), hour.Add(-countsKept)); err != nil {
				return fmt.Errorf("prune counts: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.prunedHour = hour
	for e, mode := range perEvent {
		c.counter.WithLabelValues(e.EventTypeKey.ID(), string(mode)).Inc()
	}
	return nil
}

// examples are rows of tracking_plan_examples as parallel arrays.
type examples struct {
	types, rules, ids, sources, modes, times, messages, paths []string
}

func (x *examples) add(v Violation) {
	x.types = append(x.types, v.Event.EventTypeKey.ID())
	x.rules = append(x.rules, v.Rule)
	x.ids = append(x.ids, v.Event.ID)
	x.sources = append(x.sources, v.Event.SourceID)
	x.modes = append(x.modes, string(v.Mode))
	x.times = append(x.times, v.Event.EventTime.UTC().Format("2006-01-02T15:04:05.999999Z07:00"))
	x.messages = append(x.messages, v.Message)
	x.paths = append(x.paths, v.Path)
}

// Filter selects violations: Type is an event type id, or source/type for
// every version, or "" for all; Since is the earliest time (counts are
// kept by the hour: the hour holding Since counts whole).
type Filter struct {
	Type  string
	Since time.Time
	// Limit bounds the examples (default and maximum ExamplesMax).
	Limit int
}

// ExamplesMax bounds the examples of one answer.
const ExamplesMax = 1000

// Count is how many events of a type failed a rule in a mode.
type Count struct {
	EventType string    `json:"event_type"`
	Rule      string    `json:"rule"`
	Mode      Mode      `json:"mode"`
	Count     int64     `json:"count"`
	LastAt    time.Time `json:"last_at"`
}

// Example is one event that failed a rule.
type Example struct {
	EventType    string    `json:"event_type"`
	Rule         string    `json:"rule"`
	EventID      string    `json:"event_id"`
	Source       string    `json:"source"`
	Mode         Mode      `json:"mode"`
	EventTime    time.Time `json:"event_time"`
	RecordedAt   time.Time `json:"recorded_at"`
	Message      string    `json:"message"`
	InstancePath string    `json:"instance_path"`
}

// Report is the answer of GET /v1/tracking-plan/violations.
type Report struct {
	Counts   []Count   `json:"counts"`
	Examples []Example `json:"examples"`
}

// Violations reads the counts and examples f selects.
func Violations(ctx context.Context, db store.Executor, f Filter) (*Report, error) {
	if f.Limit <= 0 || f.Limit > ExamplesMax {
		f.Limit = ExamplesMax
	}
	since := f.Since.UTC()
	r := &Report{Counts: []Count{}, Examples: []Example{}}
	rows, err := db.QueryContext(ctx, db.Query("TrackingPlanCountsList"), f.Type, since.Truncate(time.Hour))
	if err != nil {
		return nil, fmt.Errorf("read violation counts: %w", err)
	}
	for rows.Next() {
		var n Count
		if err := rows.Scan(&n.EventType, &n.Rule, &n.Mode, &n.Count, &n.LastAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read violation counts: %w", err)
		}
		n.LastAt = n.LastAt.UTC()
		r.Counts = append(r.Counts, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read violation counts: %w", err)
	}
	rows, err = db.QueryContext(ctx, db.Query("TrackingPlanExamplesList"), f.Type, since, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("read violation examples: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x Example
		if err := rows.Scan(&x.EventType, &x.Rule, &x.EventID, &x.Source, &x.Mode, &x.EventTime, &x.RecordedAt, &x.Message, &x.InstancePath); err != nil {
			return nil, fmt.Errorf("read violation examples: %w", err)
		}
		x.EventTime, x.RecordedAt = x.EventTime.UTC(), x.RecordedAt.UTC()
		r.Examples = append(r.Examples, x)
	}
	return r, rows.Err()
}
