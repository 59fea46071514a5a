package plugin

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/store"
)

// ReportKey is the dataset key of a report plugin's report: its data URL
// serves the report document (the spec's §12) instead of rows of users.
const ReportKey = "report"

// Report is a report fixed when its run starts: the declaration with its
// date ranges resolved.
type Report struct {
	Spec    ReportSpec `json:"spec"`
	Periods []Period   `json:"periods"`
}

// ReportDataset is the dataset of a report plugin's run started at now:
// the report over the declared events and date ranges, of the users with
// consent for the plugin's purpose (consent nil: everyone).
func ReportDataset(def *Definition, now time.Time, consent *consent.Filter) *Dataset {
	return &Dataset{Key: ReportKey, Seed: def.Name, Now: now.UTC(), Consent: consent,
		Report: &Report{Spec: *def.Report, Periods: def.Report.Periods(now)}}
}

// writeReport streams the report document: context, then data, one
// query per date range, each set-based (grouped in the database), rows
// written as they are read.
func writeReport(ctx context.Context, db store.Executor, d *Dataset, out io.Writer) (int64, error) {
	w := bufio.NewWriterSize(out, 64<<10)
	ctxDoc, err := json.Marshal(d.Report.context())
	if err != nil {
		return 0, err
	}
	w.WriteString(`{"context":`)
	w.Write(ctxDoc)
	w.WriteString(`,"data":[`)
	var n int64
	for i, p := range d.Report.Periods {
		q, args := reportQuery(d, p)
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return n, fmt.Errorf("read report %s: %w", d.Key, err)
		}
		k, err := writePoints(w, rows, d.Report, i, n > 0)
		rows.Close()
		n += k
		if err != nil {
			return n, fmt.Errorf("read report %s: %w", d.Key, err)
		}
	}
	w.WriteString("]}\n")
	return n, w.Flush()
}

// writePoints writes a date range's rows as points: time, groupBy,
// dateRange, values.
func writePoints(w *bufio.Writer, rows *sql.Rows, r *Report, dateRange int, comma bool) (int64, error) {
	groups, values := make([]sql.NullString, r.Spec.groupByCount()), make([]sql.NullFloat64, len(r.Spec.Values))
	var t time.Time
	dest := []any{&t}
	for i := range groups {
		dest = append(dest, &groups[i])
	}
	for i := range values {
		dest = append(dest, &values[i])
	}
	var (
		n   int64
		num []byte
	)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		if comma || n > 0 {
			w.WriteByte(',')
		}
		n++
		w.WriteString(`{"time":`)
		writeString(w, t.UTC().Format(time.RFC3339))
		w.WriteString(`,"groupBy":[`)
		for i, g := range groups {
			if i > 0 {
				w.WriteByte(',')
			}
			if g.Valid {
				writeString(w, g.String)
			} else {
				w.WriteString("null")
			}
		}
		w.WriteString(`],"dateRange":`)
		w.WriteString(strconv.Itoa(dateRange))
		w.WriteString(`,"values":[`)
		for i, v := range values {
			if i > 0 {
				w.WriteByte(',')
			}
			if !v.Valid {
				w.WriteString("null")
				continue
			}
			num, _ = floatJSON(v.Float64).MarshalJSON()
			w.Write(num)
		}
		w.WriteString("]}")
	}
	return n, rows.Err()
}

// context is the report document's context (the spec's §12): the time
// unit, the date ranges' labels, the names and types of groupBy and
// values, and the format; events and periods are Weft's additions.
func (r *Report) context() map[string]any {
	s := &r.Spec
	var groupBy []string
	switch s.Format {
	case FormatUsers:
		groupBy = []string{"User → ID"}
	case FormatEvents:
		groupBy = []string{"Event → ID", "User → ID"}
	}
	groupBy = append(groupBy, s.GroupBy...)
	groupTypes := make([]string, len(groupBy))
	for i := range groupTypes {
		groupTypes[i] = "text"
	}
	values, valueTypes := make([]string, len(s.Values)), make([]string, len(s.Values))
	for i, v := range s.Values {
		valueTypes[i] = "number"
		switch {
		case v == ValueEvents:
			values[i] = "Total of Event Count"
		case v == ValueUsers:
			values[i] = "Total of User Count"
		default:
			values[i] = "Total of " + sumValue.FindStringSubmatch(v)[1]
		}
	}
	labels := make([]string, len(r.Periods))
	for i, p := range r.Periods {
		labels[i] = p.Label
	}
	var unit any
	if s.TimeUnit != "" {
		unit = s.TimeUnit
	}
	timeBy := "Event time"
	if s.Format == FormatUsers {
		timeBy = "First event time in the date range"
	}
	return map[string]any{"timeUnit": unit, "timeBy": timeBy, "dateRanges": labels, "segments": []string{},
		"groupBy": groupBy, "types": map[string]any{"groupBy": groupTypes, "values": valueTypes},
		"dataFormat": s.Format, "values": values, "events": s.Events, "periods": r.Periods}
}

// eventTypeSQL is an event's type as source/type/version.
const eventTypeSQL = "e.source_id || '/' || e.type || '/' || e.version"

// payloadSQL reads payload.<a>.<b> as text: payload->'a'->>'b'. The
// path was validated (letters, digits and _ only), so it is safe to
// quote into the statement.
func payloadSQL(path string) string {
	keys := strings.Split(strings.TrimPrefix(path, "payload."), ".")
	expr := "e.payload"
	for i, k := range keys {
		op := "->"
		if i == len(keys)-1 {
			op = "->>"
		}
		expr += op + "'" + k + "'"
	}
	return expr
}

// groupSQL is a group-by's expression.
func groupSQL(g string) string {
	if g == GroupEventType {
		return eventTypeSQL
	}
	return payloadSQL(g)
}

// reportQuery builds the query of one date range: the time, the groupBy
// columns and the values of every point, in order.
func reportQuery(d *Dataset, p Period) (string, []any) {
	s := &d.Report.Spec
	args := []any{p.From, p.To, s.Events}
	where := `FROM event_log e JOIN entity_events m ON m.event_seq = e.seq
WHERE e.event_time >= CAST($1 AS TIMESTAMPTZ) AND e.event_time < CAST($2 AS TIMESTAMPTZ)
  AND ` + eventTypeSQL + ` IN (SELECT unnest(CAST($3 AS TEXT[])))` + d.consented(&args, "m.entity_id")
	var cols []string
	value := func(v string, perEvent bool) string {
		switch {
		case v == ValueEvents && perEvent:
			return "CAST(1 AS DOUBLE PRECISION)"
		case v == ValueEvents:
			return "CAST(count(*) AS DOUBLE PRECISION)"
		case v == ValueUsers:
			return "CAST(count(DISTINCT m.entity_id) AS DOUBLE PRECISION)"
		case perEvent:
			return "weft_to_float(" + payloadSQL(sumValue.FindStringSubmatch(v)[1]) + ")"
		}
		return "sum(weft_to_float(" + payloadSQL(sumValue.FindStringSubmatch(v)[1]) + "))"
	}
	switch s.Format {
	case FormatUsers:
		cols = []string{"min(e.event_time)", "m.entity_id"}
		for _, v := range s.Values {
			cols = append(cols, value(v, false))
		}
		return "SELECT " + strings.Join(cols, ", ") + "\n" + where + "\nGROUP BY m.entity_id\nORDER BY m.entity_id", args
	case FormatEvents:
		cols = []string{"e.event_time", "e.id", "m.entity_id"}
		for _, g := range s.GroupBy {
			cols = append(cols, groupSQL(g))
		}
		for _, v := range s.Values {
			cols = append(cols, value(v, true))
		}
		return "SELECT " + strings.Join(cols, ", ") + "\n" + where + "\nORDER BY e.event_time, e.id", args
	}
	// The unit is one of TimeUnits, validated: safe to quote.
	cols = []string{"date_trunc('" + s.TimeUnit + "', e.event_time)"}
	for _, g := range s.GroupBy {
		cols = append(cols, groupSQL(g))
	}
	keys := make([]string, len(cols))
	for i := range cols {
		keys[i] = strconv.Itoa(i + 1)
	}
	for _, v := range s.Values {
		cols = append(cols, value(v, false))
	}
	order := strings.Join(keys, ", ")
	return "SELECT " + strings.Join(cols, ", ") + "\n" + where + "\nGROUP BY " + order + "\nORDER BY " + order, args
}
