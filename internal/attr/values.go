package attr

import (
	"strconv"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Info is a definition with its last run and how many customers have a
// value: an entry of GET /v1/attributes.
type Info struct {
	Definition
	Enabled    bool       `json:"enabled"`
	DataType   string     `json:"data_type"`
	Customers  int64      `json:"customers"`
	Status     string     `json:"status"` // ok, error, or never (not calculated yet)
	Error      string     `json:"error,omitempty"`
	Entities   int64      `json:"last_run_entities"`
	DurationMS float64    `json:"last_run_duration_ms"`
	FinishedAt *time.Time `json:"last_run_finished_at"`
	// CastFailures counts the events of the last run whose value did not
	// convert in a cast of the attribute's expressions (they counted as
	// NULL); CastFailureEventID is one of them.
	CastFailures       int64  `json:"cast_failures,omitempty"`
	CastFailureEventID string `json:"cast_failure_event_id,omitempty"`
}

// Infos describes the definitions defs from the attributes' last runs:
// the entries of GET /v1/attributes and of the console's attributes page.
func Infos(defs []Definition, states []store.AttributeState) []Info {
	byID := map[string]store.AttributeState{}
	for _, s := range states {
		byID[s.ID] = s
	}
	out := []Info{}
	for _, d := range defs {
		info := Info{Definition: d, Enabled: d.IsEnabled(), DataType: d.ResultType(), Status: "never"}
		if s, ok := byID[d.ID]; ok {
			info.Customers, info.Status, info.Error = s.Customers, s.Status, s.Error
			info.Entities, info.DurationMS, info.FinishedAt = s.Entities, s.DurationMS, &s.FinishedAt
			info.CastFailures, info.CastFailureEventID = s.CastFailures, s.CastFailureEventID
		}
		out = append(out, info)
	}
	return out
}

// JSONValues turns an entity's stored values (attribute -> text values)
// into JSON values of each attribute's data type: numbers, booleans, dates
// as YYYY-MM-DD, datetimes in RFC 3339. A list is an array; a custom
// attribute is an array when its query returned several rows. Values of
// attributes not in defs are left out.
func JSONValues(defs []Definition, raw map[string][]string) map[string]any {
	out := map[string]any{}
	for i := range defs {
		d := &defs[i]
		vs, ok := raw[d.ID]
		if !ok {
			continue
		}
		conv := make([]any, len(vs))
		for j, v := range vs {
			conv[j] = jsonValue(d.dataType(), v)
		}
		if d.Type == TypeList || len(conv) > 1 {
			out[d.ID] = conv
		} else {
			out[d.ID] = conv[0]
		}
	}
	return out
}

// JSONValue is one stored value as JSON of the attribute's data type.
func (d *Definition) JSONValue(v string) any { return jsonValue(d.dataType(), v) }

// datetimeLayouts are the text forms of TIMESTAMPTZ both engines produce.
var datetimeLayouts = []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00", time.RFC3339Nano}

func jsonValue(dataType, v string) any {
	switch dataType {
	case DataInt:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return int64(f)
		}
	case DataFloat:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case DataBool:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	case DataDatetime:
		for _, layout := range datetimeLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC().Format(time.RFC3339Nano)
			}
		}
	}
	return v
}

// JSONValueOf is a stored value as JSON of a data type (DataString, ...),
// for readers that carry the type without the definition (plugin
// datasets).
func JSONValueOf(dataType, v string) any { return jsonValue(dataType, v) }
