package attr

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Reference calculates one attribute for one entity the obvious way: a
// plain query over that entity's events (the customer_events view), the
// calculation in Go. Values come back as text, numbers in Go's shortest
// form. Tests hold the engine to it; the benchmark measures the engine
// against it. Booleans come back as true/false, dates as YYYY-MM-DD and
// datetimes in RFC 3339, UTC.
func Reference(ctx context.Context, db store.Executor, d *Definition, entity string) ([]string, error) {
	var q string
	if d.Type == TypeCustom {
		q = `WITH base AS (SELECT id, source_id, type, version, event_time, payload FROM customer_events WHERE customer_entity_id = $1)
SELECT '', CAST(NULL AS TIMESTAMPTZ), CAST(value AS TEXT), 1 FROM (` + d.Query + `) q`
	} else {
		var where []string
		for col, list := range map[string][]string{"source_id": d.Sources, "type": d.Types, "version": d.Versions} {
			if len(list) > 0 {
				where = append(where, col+" IN ("+quoteList(list)+")")
			}
		}
		slices.Sort(where)
		cond := strings.Join(append(where, "("+or(d.Filter, "true")+")"), " AND ")
		q = fmt.Sprintf(`SELECT event_id, event_time, CAST((%s) AS TEXT), weight * CAST((%s) AS DOUBLE PRECISION) FROM (
  SELECT id AS event_id, event_time, source_id, type, version, payload, (%s) AS value, CAST((%s) AS DOUBLE PRECISION) AS weight
  FROM customer_events WHERE customer_entity_id = $1 AND %s) i
WHERE (%s)`, or(d.OuterValue, "value"), or(d.OuterWeight, "1"), d.Value, or(d.Weight, "1"), cond, or(d.OuterFilter, "true"))
	}
	rows, err := db.QueryContext(ctx, q, entity)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var in []refRow
	for rows.Next() {
		var r refRow
		var at sql.NullTime
		var v sql.NullString
		var w sql.NullFloat64
		if err := rows.Scan(&r.event, &at, &v, &w); err != nil {
			return nil, err
		}
		if !v.Valid {
			continue
		}
		r.at, r.w = at.Time, w.Float64
		if !r.set(d.valueType(), v.String) {
			continue // not a value of the type: dropped, as the engine does
		}
		in = append(in, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return aggregate(d, in), nil
}

type refRow struct {
	event string
	at    time.Time
	text  string
	num   float64
	isNum bool
	w     float64
}

func (r *refRow) set(dataType, v string) bool {
	v = strings.TrimSpace(v)
	switch dataType {
	case DataBool:
		switch strings.ToLower(v) {
		case "true", "t", "1", "yes":
			r.num, r.isNum, r.text = 1, true, "true"
		case "false", "f", "0", "no":
			r.num, r.isNum, r.text = 0, true, "false"
		default:
			return false
		}
		return true
	case DataDate, DataDatetime:
		t, ok := parseTime(v)
		if !ok && dataType == DataDate && len(v) > 10 {
			t, ok = parseTime(v[:10]) // the date of a datetime
		}
		if !ok {
			return false
		}
		if dataType == DataDate {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			r.text = t.Format(time.DateOnly)
		} else {
			r.text = t.Format(time.RFC3339Nano)
		}
		r.num, r.isNum = float64(t.UnixMicro()), true
		return true
	case DataInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		r.num, r.isNum = float64(n), true
		r.text = strconv.FormatInt(n, 10)
		return err == nil
	case DataFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		r.num, r.isNum, r.text = f, true, format(f)
		return err == nil
	}
	r.text = v
	return true
}

// parseTime reads the text forms of dates and datetimes both engines give,
// and the ISO forms people write.
func parseTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00",
		"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func format(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (r refRow) compare(o refRow) int {
	if r.isNum {
		return cmp.Compare(r.num, o.num)
	}
	return strings.Compare(r.text, o.text)
}

func aggregate(d *Definition, in []refRow) []string {
	if len(in) == 0 {
		return nil
	}
	byTime := func(a, b refRow) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if c := strings.Compare(a.event, b.event); c != 0 {
			return c
		}
		return a.compare(b)
	}
	switch d.Type {
	case TypeFirst:
		return []string{slices.MinFunc(in, byTime).text}
	case TypeLast:
		return []string{slices.MaxFunc(in, byTime).text}
	case TypeMin, TypeValue:
		return []string{slices.MinFunc(in, refRow.compare).text}
	case TypeMax:
		return []string{slices.MaxFunc(in, refRow.compare).text}
	case TypeSum, TypeAvg:
		sum := 0.0
		for _, r := range in {
			sum += r.num
		}
		if d.Type == TypeAvg {
			sum /= float64(len(in))
		}
		if d.dataType() == DataInt {
			return []string{strconv.FormatInt(int64(math.Round(sum)), 10)}
		}
		return []string{format(sum)}
	case TypeNumOfUnique:
		return []string{strconv.Itoa(len(distinct(in)))}
	case TypeList:
		vs := distinct(in)
		return texts(vs[:min(len(vs), listCap)])
	case TypeMostFrequent, TypeLeastFrequent:
		return []string{frequent(in, d.Type == TypeMostFrequent)}
	case TypeCustom:
		return texts(in)
	}
	return nil
}

func distinct(in []refRow) []refRow {
	s := slices.Clone(in)
	slices.SortFunc(s, refRow.compare)
	return slices.CompactFunc(s, func(a, b refRow) bool { return a.compare(b) == 0 })
}

func texts(in []refRow) []string {
	out := make([]string, len(in))
	for i, r := range in {
		out[i] = r.text
	}
	return out
}

// frequent picks the value with the largest (or smallest) total weight;
// ties go to the most recent, then the smallest value.
func frequent(in []refRow, most bool) string {
	type agg struct {
		r    refRow
		w    float64
		last time.Time
	}
	var groups []*agg
	for _, r := range distinct(in) {
		groups = append(groups, &agg{r: r})
	}
	for _, r := range in {
		i, _ := slices.BinarySearchFunc(groups, r, func(g *agg, r refRow) int { return g.r.compare(r) })
		g := groups[i]
		g.w += r.w
		if r.at.After(g.last) {
			g.last = r.at
		}
	}
	best := slices.MinFunc(groups, func(a, b *agg) int {
		c := cmp.Compare(a.w, b.w)
		if most {
			c = -c
		}
		if c != 0 {
			return c
		}
		if c := b.last.Compare(a.last); c != 0 {
			return c
		}
		return a.r.compare(b.r)
	})
	return best.r.text
}
