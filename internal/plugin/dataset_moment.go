package plugin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store"
)

// Moment types (spec §7.4): how far into each user's life a dataset's
// features are counted.
const (
	// MomentLatest counts everything up to data_now (the default).
	MomentLatest = "latest"
	// MomentSince counts events up to Seconds after the user's base
	// timestamp (the first event).
	MomentSince = "since"
	// MomentPercentile is the since moment before which Percent % of the
	// users who reached the goal had not reached it yet; those who had by
	// their cut-off are left out.
	MomentPercentile = "percentile"
)

// Moment is a dataset's moment.
type Moment struct {
	Type string `json:"type"`
	// Seconds after the base timestamp: given for since, computed when
	// the dataset is made for percentile.
	Seconds float64 `json:"seconds"`
	// Percent (1 to 99) of a percentile moment.
	Percent float64 `json:"percent,omitempty"`
}

// Validate checks a moment as a plugin asked for it; field prefixes the
// messages (stages.x.datasets.y.moment).
func (m *Moment) Validate(field string, eventGoal bool) error {
	switch m.Type {
	case MomentLatest:
		return nil
	case MomentSince:
		if m.Seconds < 0 || math.IsNaN(m.Seconds) || math.IsInf(m.Seconds, 0) {
			return fmt.Errorf("%s.seconds is %v: it must be a number of seconds, 0 or more", field, m.Seconds)
		}
		return nil
	case MomentPercentile:
		if !(m.Percent >= 1 && m.Percent <= 99) {
			return fmt.Errorf("%s.percent is %v: it must be a number from 1 to 99", field, m.Percent)
		}
		if !eventGoal {
			return fmt.Errorf("%s: a percentile moment needs an event goal (the time of conversion); this plugin has none", field)
		}
		return nil
	}
	return fmt.Errorf("%s.type is %q: it must be latest, since or percentile", field, m.Type)
}

// Metadata is the moment as a manifest's metadata.datasets.<key>.moment.
func (m *Moment) Metadata() map[string]any {
	switch {
	case m == nil || m.Type == MomentLatest:
		return map[string]any{"type": MomentLatest}
	case m.Type == MomentPercentile:
		return map[string]any{"type": MomentPercentile, "percent": m.Percent, "seconds": m.Seconds}
	}
	return map[string]any{"type": MomentSince, "seconds": m.Seconds}
}

// ErrNoConversions is a percentile moment over a goal nobody reached.
var ErrNoConversions = errors.New("no user reached the goal")

// cutoff says whether the dataset has per-user cut-offs (a moment other
// than latest): its users and attribute features are fixed when it is
// made (plugin_dataset_users, plugin_dataset_values).
func (d *Dataset) cutoff() bool { return d.Moment != nil && d.Moment.Type != MomentLatest }

// definition is the attribute definition the dataset carries for an id.
func (d *Dataset) definition(id string) *attr.Definition {
	for i := range d.Attributes {
		if d.Attributes[i].ID == id {
			return &d.Attributes[i]
		}
	}
	return nil
}

// asOf says whether an attribute of the dataset is read from the values
// calculated when it was made: every attribute of a dataset with
// cut-offs, and an attribute goal (its value at data_now), when the
// dataset carries the definition.
func (d *Dataset) asOf(id string, goal bool) bool {
	return (goal || d.cutoff()) && d.definition(id) != nil
}

// firstEvents is each live entity's first event time (entity_events maps
// events to live entities only).
const firstEvents = `(SELECT m.entity_id, min(e.event_time) AS base_at
  FROM entity_events m JOIN event_log e ON e.seq = m.event_seq GROUP BY m.entity_id)`

// goalTimes is the first time of the goal event of each entity up to
// data_now; the arguments are placeholders of source, type, version and
// data_now.
func goalTimes(src, typ, ver, now string) string {
	return fmt.Sprintf(`(SELECT m.entity_id, min(e.event_time) AS t
  FROM entity_events m JOIN event_log e ON e.seq = m.event_seq
  WHERE e.source_id = %s AND e.type = %s AND e.version = %s AND e.event_time <= CAST(%s AS TIMESTAMPTZ)
  GROUP BY m.entity_id)`, src, typ, ver, now)
}

// goalArgs are the source, type and version of an event goal ("" each
// without one: no event matches).
func (d *Dataset) goalArgs() []any {
	if d.Goal == nil || d.Goal.EventType == "" {
		return []any{"", "", ""}
	}
	src, rest, _ := strings.Cut(d.Goal.EventType, "/")
	typ, ver, _ := strings.Cut(rest, "/")
	return []any{src, typ, ver}
}

// materialize fixes what a dataset's reads need that can change later:
// for a moment other than latest, its users with their cut-offs (the
// seconds of a percentile moment first) and its attribute features as of
// each cut-off; for an attribute goal, its value at data_now.
func (s *Service) materialize(ctx context.Context, tx store.Executor, run string, d *Dataset) error {
	if d.cutoff() {
		if d.Moment.Type == MomentPercentile {
			secs, err := percentileSeconds(ctx, tx, d)
			if err != nil {
				return err
			}
			d.Moment.Seconds = secs
		}
		us := int64(math.Round(d.Moment.Seconds * 1e6))
		args := append([]any{run, d.Key, strconv.FormatInt(us, 10) + " microseconds"}, d.goalArgs()...)
		args = append(args, d.Now, d.Moment.Type == MomentPercentile)
		q := `INSERT INTO plugin_dataset_users (run_id, key, entity_id, base_at, moment_at)
SELECT $1, $2, b.entity_id, b.base_at, b.base_at + CAST($3 AS INTERVAL)
FROM ` + firstEvents + ` b LEFT JOIN ` + goalTimes("$4", "$5", "$6", "$7") + ` g ON g.entity_id = b.entity_id
WHERE NOT ($8 AND g.t IS NOT NULL AND g.t <= b.base_at + CAST($3 AS INTERVAL))` + d.consented(&args, "b.entity_id")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("dataset %s: users at the moment: %w", d.Key, err)
		}
	}
	users := "(SELECT entity_id, moment_at FROM plugin_dataset_users WHERE run_id = $1 AND key = $2)"
	for i, f := range d.Features {
		if f.Attribute == "" || !d.asOf(f.Attribute, false) {
			continue
		}
		if err := insertValues(ctx, tx, d, i, d.definition(f.Attribute).QueryUpTo(users, s.db.Capabilities()), run, d.Key); err != nil {
			return err
		}
	}
	if g := d.Goal; g != nil && g.Attribute != "" && d.asOf(g.Attribute, true) {
		atNow := "(SELECT id AS entity_id, CAST($3 AS TIMESTAMPTZ) AS moment_at FROM entities WHERE merged_into IS NULL)"
		if d.cutoff() {
			atNow = "(SELECT entity_id, CAST($3 AS TIMESTAMPTZ) AS moment_at FROM plugin_dataset_users WHERE run_id = $1 AND key = $2)"
		}
		return insertValues(ctx, tx, d, goalSlot, d.definition(g.Attribute).QueryUpTo(atNow, s.db.Capabilities()), run, d.Key, d.Now)
	}
	return nil
}

// goalSlot is the slot of an attribute goal's values.
const goalSlot = -1

// insertValues stores an attribute's values (a QueryUpTo statement) in a
// slot of the dataset.
func insertValues(ctx context.Context, tx store.Executor, d *Dataset, slot int, query string, args ...any) error {
	q := "INSERT INTO plugin_dataset_values (run_id, key, slot, entity_id, value)\nSELECT $1, $2, " +
		strconv.Itoa(slot) + ", q.entity_id, q.value FROM (\n" + query + "\n) q"
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		what := "the goal"
		if slot >= 0 {
			what = "feature " + d.Features[slot].Column
		}
		return fmt.Errorf("dataset %s: %s at the moment: %w", d.Key, what, err)
	}
	return nil
}

// percentileSeconds is the (100 - percent)th percentile of the seconds
// from the base timestamp to the goal over the users who reached it: the
// moment before which percent % of them had not converted (95_pct: the
// 5th percentile).
func percentileSeconds(ctx context.Context, tx store.Executor, d *Dataset) (float64, error) {
	frac := strconv.FormatFloat((100-d.Moment.Percent)/100, 'f', -1, 64) // validated: a plain number
	args := append(d.goalArgs(), d.Now)
	q := `SELECT count(*), percentile_disc(` + frac + `) WITHIN GROUP (ORDER BY
  CAST(extract(epoch FROM g.t) - extract(epoch FROM b.base_at) AS DOUBLE PRECISION))
FROM ` + firstEvents + ` b JOIN ` + goalTimes("$1", "$2", "$3", "$4") + ` g ON g.entity_id = b.entity_id
WHERE TRUE` + d.consented(&args, "b.entity_id")
	var n int64
	var secs sql.NullFloat64
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&n, &secs); err != nil {
		return 0, fmt.Errorf("dataset %s: percentile moment: %w", d.Key, err)
	}
	if n == 0 || !secs.Valid {
		return 0, fmt.Errorf("dataset %s: the %v%% percentile moment of goal %s: %w up to %s", d.Key, d.Moment.Percent,
			d.Goal.EventType, ErrNoConversions, d.Now.UTC().Format(time.RFC3339))
	}
	return secs.Float64, nil
}
