package plugin

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Plugin kinds (Definition.Kind): an intelligence plugin reads datasets
// of users (the default), a report plugin reads one report over the
// event log (the spec's §12).
const (
	KindIntelligence = "intelligence"
	KindReport       = "report"
)

// IsReport tells whether the plugin is a report plugin.
func (p *Definition) IsReport() bool { return p.Kind == KindReport }

// Report formats (the report document's context.dataFormat).
const (
	FormatTimeseries = "timeseries"
	FormatUsers      = "users"
	FormatEvents     = "events"
)

// ReportFormats are the values of report.format.
var ReportFormats = []string{FormatTimeseries, FormatUsers, FormatEvents}

// TimeUnits are the values of report.time_unit, the buckets of a time
// series (date_trunc's units).
var TimeUnits = []string{"hour", "day", "week", "month"}

// Report value measures and the group-by of the event type; other values
// are sum(payload.<path>), other group-bys payload.<path>.
const (
	ValueEvents    = "events"
	ValueUsers     = "users"
	GroupEventType = "event_type"
)

// Limits of a report declaration.
const (
	MaxReportDateRanges = 10
	MaxReportGroupBy    = 5
	MaxReportValues     = 10
	MaxReportEvents     = 100
	MaxReportLastDays   = 3660
)

// ReportSpec declares a report plugin's report (weft.yaml's
// plugins[i].report): which events, cut how, over which date ranges.
type ReportSpec struct {
	// Format is timeseries (one point per time bucket and group), users
	// (one point per user: Stormly's report grouped by User → ID) or
	// events (one point per event: grouped by Event → ID).
	Format string `json:"format" yaml:"format"`
	// Events are the event types counted, source/type/version each.
	Events []string `json:"events" yaml:"events"`
	// TimeUnit buckets a time series: hour, day (the default), week
	// (starting Monday) or month, in UTC.
	TimeUnit string `json:"time_unit,omitempty" yaml:"time_unit,omitempty"`
	// GroupBy splits the points (timeseries and events): event_type, or
	// payload.<path> (a payload field, dotted for nested objects), as
	// text.
	GroupBy []string `json:"group_by,omitempty" yaml:"group_by,omitempty"`
	// Values are the points' values: events (a count; default), users
	// (distinct users; timeseries only) or sum(payload.<path>) (the sum
	// of a numeric payload field; text that is not a number counts as
	// nothing).
	Values []string `json:"values,omitempty" yaml:"values,omitempty"`
	// DateRanges are the periods reported, each a point's dateRange
	// index (default one: the last 30 days).
	DateRanges []DateRange `json:"date_ranges,omitempty" yaml:"date_ranges,omitempty"`
	// Inputs are the manifest's inputData: a name for a value index or a
	// group-by index.
	Inputs []ReportInput `json:"inputs,omitempty" yaml:"inputs,omitempty"`
}

// DateRange is a period of a report: the last N days (today, UTC,
// included) or the days from From to To, both included (YYYY-MM-DD, UTC).
type DateRange struct {
	LastDays int    `json:"last_days,omitempty" yaml:"last_days,omitempty"`
	From     string `json:"from,omitempty" yaml:"from,omitempty"`
	To       string `json:"to,omitempty" yaml:"to,omitempty"`
}

// ReportInput is a report plugin's input-data variable: exactly one of
// ValueIndex (a number: values[i] of each point) and GroupByIndex (text:
// groupBy[j]).
type ReportInput struct {
	Name         string `json:"name" yaml:"name"`
	ValueIndex   *int   `json:"value_index,omitempty" yaml:"value_index,omitempty"`
	GroupByIndex *int   `json:"group_by_index,omitempty" yaml:"group_by_index,omitempty"`
}

var (
	payloadPath = regexp.MustCompile(`^payload(\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,8}$`)
	sumValue    = regexp.MustCompile(`^sum\((payload(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,8})\)$`)
	eventType   = regexp.MustCompile(`^[^/\s\p{Cc}]+/[^/\s\p{Cc}]+/[^/\s\p{Cc}]+$`)
	inputName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// FieldError is a bad report declaration: Field is the key under the
// plugin (report.format, report.date_ranges[1].from, ...).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// ValidateKind checks kind and report against each other and the
// report's declaration, filling in its defaults (time_unit day, values
// [events], the last 30 days). Errors are *FieldError.
func (p *Definition) ValidateKind() error {
	switch {
	case p.Kind != "" && p.Kind != KindIntelligence && p.Kind != KindReport:
		return fieldErr("kind", "%q must be intelligence (the default) or report", p.Kind)
	case !p.IsReport() && p.Report != nil:
		return fieldErr("report", "only plugins of kind report declare a report (add kind: report)")
	case !p.IsReport():
		return nil
	case p.Report == nil:
		return fieldErr("report", "is required for kind report: {format: timeseries|users|events, events: [source/type/version, ...], ...}")
	}
	for _, k := range []struct {
		set  bool
		name string
	}{{p.Goal != nil, "goal"}, {len(p.Features) > 0, "features"}, {p.Moment != "", "moment"},
		{len(p.HyperParameters) > 0, "hyperparameters"}, {p.MaxVariations != 0, "max_variations"},
		{p.ParallelVariations != 0, "parallel_variations"}} {
		if k.set {
			return fieldErr(k.name, "belongs to intelligence plugins: a report plugin reads a report, not a dataset of users (spec §12)")
		}
	}
	return p.Report.validate()
}

func (r *ReportSpec) validate() error {
	if !slices.Contains(ReportFormats, r.Format) {
		return fieldErr("report.format", "%q must be one of %s", r.Format, strings.Join(ReportFormats, ", "))
	}
	if len(r.Events) == 0 || len(r.Events) > MaxReportEvents {
		return fieldErr("report.events", "must list 1 to %d event types (source/type/version)", MaxReportEvents)
	}
	for i, e := range r.Events {
		if !eventType.MatchString(e) {
			return fieldErr(fmt.Sprintf("report.events[%d]", i), "%q must be an event type, source/type/version", e)
		}
	}
	if err := r.validateShape(); err != nil {
		return err
	}
	if len(r.DateRanges) == 0 {
		r.DateRanges = []DateRange{{LastDays: 30}}
	}
	if len(r.DateRanges) > MaxReportDateRanges {
		return fieldErr("report.date_ranges", "has %d ranges: at most %d", len(r.DateRanges), MaxReportDateRanges)
	}
	for i := range r.DateRanges {
		if err := r.DateRanges[i].validate(); err != nil {
			return fieldErr(fmt.Sprintf("report.date_ranges[%d]", i), "%v", err)
		}
	}
	return r.validateInputs()
}

// validateShape checks time_unit, group_by and values against the format.
func (r *ReportSpec) validateShape() error {
	if r.TimeUnit != "" && r.Format != FormatTimeseries {
		return fieldErr("report.time_unit", "only a timeseries report has a time unit")
	}
	if r.TimeUnit == "" && r.Format == FormatTimeseries {
		r.TimeUnit = "day"
	}
	if r.TimeUnit != "" && !slices.Contains(TimeUnits, r.TimeUnit) {
		return fieldErr("report.time_unit", "%q must be one of %s", r.TimeUnit, strings.Join(TimeUnits, ", "))
	}
	if len(r.GroupBy) > 0 && r.Format == FormatUsers {
		return fieldErr("report.group_by", "a users report is grouped by User → ID only")
	}
	if len(r.GroupBy) > MaxReportGroupBy {
		return fieldErr("report.group_by", "has %d entries: at most %d", len(r.GroupBy), MaxReportGroupBy)
	}
	for i, g := range r.GroupBy {
		if g != GroupEventType && !payloadPath.MatchString(g) {
			return fieldErr(fmt.Sprintf("report.group_by[%d]", i), "%q must be event_type or payload.<field>[.<field>...] (letters, digits and _)", g)
		}
		if slices.Index(r.GroupBy, g) != i {
			return fieldErr(fmt.Sprintf("report.group_by[%d]", i), "%q is listed twice", g)
		}
	}
	if len(r.Values) == 0 {
		r.Values = []string{ValueEvents}
	}
	if len(r.Values) > MaxReportValues {
		return fieldErr("report.values", "has %d entries: at most %d", len(r.Values), MaxReportValues)
	}
	for i, v := range r.Values {
		fld := fmt.Sprintf("report.values[%d]", i)
		switch {
		case v == ValueUsers && r.Format != FormatTimeseries:
			return fieldErr(fld, "users (distinct users) is a value of timeseries reports only: each point of format %s is one %s", r.Format, strings.TrimSuffix(r.Format, "s"))
		case v != ValueEvents && v != ValueUsers && !sumValue.MatchString(v):
			return fieldErr(fld, "%q must be events, users or sum(payload.<field>)", v)
		case slices.Index(r.Values, v) != i:
			return fieldErr(fld, "%q is listed twice", v)
		}
	}
	return nil
}

func (d *DateRange) validate() error {
	switch {
	case d.LastDays != 0 && (d.From != "" || d.To != ""):
		return errors.New("give either last_days or from and to, not both")
	case d.LastDays != 0:
		if d.LastDays < 1 || d.LastDays > MaxReportLastDays {
			return fmt.Errorf("last_days is %d: it must be from 1 to %d", d.LastDays, MaxReportLastDays)
		}
		return nil
	case d.From == "" || d.To == "":
		return errors.New("give last_days, or both from and to (YYYY-MM-DD)")
	}
	from, err := time.Parse(time.DateOnly, d.From)
	if err != nil {
		return fmt.Errorf("from %q is not a date (YYYY-MM-DD)", d.From)
	}
	to, err := time.Parse(time.DateOnly, d.To)
	if err != nil {
		return fmt.Errorf("to %q is not a date (YYYY-MM-DD)", d.To)
	}
	if to.Before(from) {
		return fmt.Errorf("to %s is before from %s", d.To, d.From)
	}
	return nil
}

// groupByCount is the length of each point's groupBy.
func (r *ReportSpec) groupByCount() int {
	switch r.Format {
	case FormatUsers:
		return 1
	case FormatEvents:
		return 2 + len(r.GroupBy)
	}
	return len(r.GroupBy)
}

func (r *ReportSpec) validateInputs() error {
	seen := map[string]bool{}
	for i, in := range r.Inputs {
		fld := fmt.Sprintf("report.inputs[%d]", i)
		switch {
		case !inputName.MatchString(in.Name):
			return fieldErr(fld+".name", "%q must be letters, digits and _", in.Name)
		case seen[in.Name]:
			return fieldErr(fld+".name", "%q is declared twice", in.Name)
		case (in.ValueIndex == nil) == (in.GroupByIndex == nil):
			return fieldErr(fld, "give exactly one of value_index and group_by_index")
		case in.ValueIndex != nil && (*in.ValueIndex < 0 || *in.ValueIndex >= len(r.Values)):
			return fieldErr(fld+".value_index", "%d is not an index of values (the report has %d)", *in.ValueIndex, len(r.Values))
		case in.GroupByIndex != nil && (*in.GroupByIndex < 0 || *in.GroupByIndex >= r.groupByCount()):
			return fieldErr(fld+".group_by_index", "%d is not an index of a point's groupBy (it has %d)", *in.GroupByIndex, r.groupByCount())
		}
		seen[in.Name] = true
	}
	return nil
}

// InputData is the manifest's inputData: {"type":"number","valueIndex":i}
// or {"type":"text","groupByIndex":j} per input.
func (r *ReportSpec) InputData() map[string]any {
	out := map[string]any{}
	for _, in := range r.Inputs {
		if in.ValueIndex != nil {
			out[in.Name] = map[string]any{"type": "number", "valueIndex": *in.ValueIndex}
		} else {
			out[in.Name] = map[string]any{"type": "text", "groupByIndex": *in.GroupByIndex}
		}
	}
	return out
}

// Period is a resolved date range: [From, To) with its label.
type Period struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Label string    `json:"label"`
}

// Periods resolves the date ranges at now (UTC days): the last N days are
// today and the N-1 days before it.
func (r *ReportSpec) Periods(now time.Time) []Period {
	today := now.UTC().Truncate(24 * time.Hour)
	out := make([]Period, len(r.DateRanges))
	for i, d := range r.DateRanges {
		var p Period
		if d.LastDays > 0 {
			p.From, p.To = today.AddDate(0, 0, 1-d.LastDays), today.AddDate(0, 0, 1)
			p.Label = fmt.Sprintf("Last %d days: ", d.LastDays)
		} else {
			from, _ := time.Parse(time.DateOnly, d.From) // validated
			to, _ := time.Parse(time.DateOnly, d.To)
			p.From, p.To = from, to.AddDate(0, 0, 1)
		}
		p.Label += p.From.Format("Jan 2, 2006") + " - " + p.To.AddDate(0, 0, -1).Format("Jan 2, 2006")
		out[i] = p
	}
	return out
}
