package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/plugin"
)

// reportDoc is the report document a report plugin's dataUrl serves.
type reportDoc struct {
	Context struct {
		TimeUnit   *string  `json:"timeUnit"`
		TimeBy     string   `json:"timeBy"`
		DateRanges []string `json:"dateRanges"`
		Segments   []string `json:"segments"`
		GroupBy    []string `json:"groupBy"`
		Types      struct {
			GroupBy []string `json:"groupBy"`
			Values  []string `json:"values"`
		} `json:"types"`
		DataFormat string   `json:"dataFormat"`
		Values     []string `json:"values"`
	} `json:"context"`
	Data []reportPoint `json:"data"`
}

type reportPoint struct {
	Time      string     `json:"time"`
	GroupBy   []*string  `json:"groupBy"`
	DateRange int        `json:"dateRange"`
	Values    []*float64 `json:"values"`
}

// points renders points as comparable lines: time|groups|range|values,
// null written as -.
func points(ps []reportPoint) []string {
	var out []string
	for _, p := range ps {
		var gs, vs []string
		for _, g := range p.GroupBy {
			if g == nil {
				gs = append(gs, "-")
			} else {
				gs = append(gs, *g)
			}
		}
		for _, v := range p.Values {
			if v == nil {
				vs = append(vs, "-")
			} else {
				vs = append(vs, strings.TrimSuffix(strings.TrimRight(jsonNumber(*v), "0"), "."))
			}
		}
		out = append(out, p.Time+"|"+strings.Join(gs, ",")+"|"+string(rune('0'+p.DateRange))+"|"+strings.Join(vs, ","))
	}
	return out
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	s := string(b)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// reportSpec parses a report plugin declaration as weft.yaml would.
func reportSpec(t *testing.T, report string) *plugin.Definition {
	t.Helper()
	c, err := config.Parse([]byte("plugins:\n  - name: r\n    kind: report\n    command: [x]\n    report: " + report + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &c.Plugins[0]
}

// TestPluginReportDataset serves each report shape through its signed
// data URL over the worked example (e1..e9), against numbers counted by
// hand: page views e1, e2 (Jan 1, 10:00 and 10:05), e7 (Jan 2, 11:00) of
// X and e8 (Jan 6, 08:00) of Y; purchases e5 (Jan 4, 120.50 EUR) and e6
// (Jan 5, 79.50, no currency) of X.
func TestPluginReportDataset(t *testing.T) {
	const days = `date_ranges: [{from: "2024-01-01", to: "2024-01-06"}]`
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, x := workedPluginServer(t, backend)
			ctx := context.Background()
			serve := func(t *testing.T, run, report string, filter ...*consent.Filter) reportDoc {
				t.Helper()
				def := reportSpec(t, report)
				if err := s.plugins.DatasetCreate(ctx, run, plugin.ReportDataset(def, datasetNow, append(filter, nil)[0])); err != nil {
					t.Fatal(err)
				}
				r := fetch(t, "GET", s.plugins.URL(plugin.KindData, run, plugin.ReportKey, s.plugins.TTL(false)), nil)
				if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s: %d %s", report, r.status, r.body)
				}
				var doc reportDoc
				if err := json.Unmarshal(r.body, &doc); err != nil {
					t.Fatalf("%s: %v\n%s", report, err, r.body)
				}
				return doc
			}
			both := `events: [web/page_view/1-0-0, eshop/purchase/1-0-0]`

			doc := serve(t, "r-day", `{format: timeseries, time_unit: day, `+both+`, group_by: [event_type], values: [events, users, sum(payload.total)], `+days+`}`)
			want := []string{
				"2024-01-01T00:00:00Z|web/page_view/1-0-0|0|2,1,-",
				"2024-01-02T00:00:00Z|web/page_view/1-0-0|0|1,1,-",
				"2024-01-04T00:00:00Z|eshop/purchase/1-0-0|0|1,1,120.5",
				"2024-01-05T00:00:00Z|eshop/purchase/1-0-0|0|1,1,79.5",
				"2024-01-06T00:00:00Z|web/page_view/1-0-0|0|1,1,-",
			}
			if got := points(doc.Data); !reflect.DeepEqual(got, want) {
				t.Errorf("day series:\n got %q\nwant %q", got, want)
			}
			c := doc.Context
			if *c.TimeUnit != "day" || c.TimeBy != "Event time" || c.DataFormat != "timeseries" || c.Segments == nil || len(c.Segments) != 0 ||
				!reflect.DeepEqual(c.DateRanges, []string{"Jan 1, 2024 - Jan 6, 2024"}) ||
				!reflect.DeepEqual(c.GroupBy, []string{"event_type"}) || !reflect.DeepEqual(c.Types.GroupBy, []string{"text"}) ||
				!reflect.DeepEqual(c.Values, []string{"Total of Event Count", "Total of User Count", "Total of payload.total"}) ||
				!reflect.DeepEqual(c.Types.Values, []string{"number", "number", "number"}) {
				t.Errorf("day series context: %+v", c)
			}

			doc = serve(t, "r-hour", `{format: timeseries, time_unit: hour, events: [web/page_view/1-0-0], group_by: [payload.url], `+days+`}`)
			want = []string{
				"2024-01-01T10:00:00Z|/home|0|1",
				"2024-01-01T10:00:00Z|/shoes|0|1",
				"2024-01-02T11:00:00Z|/|0|1",
				"2024-01-06T08:00:00Z|/|0|1",
			}
			if got := points(doc.Data); !reflect.DeepEqual(got, want) {
				t.Errorf("hour series by url:\n got %q\nwant %q", got, want)
			}

			// 2024-01-01 is a Monday: the week holds all six events.
			for unit, at := range map[string]string{"week": "2024-01-01T00:00:00Z", "month": "2024-01-01T00:00:00Z"} {
				doc = serve(t, "r-"+unit, `{format: timeseries, time_unit: `+unit+`, `+both+`, values: [events, users], `+days+`}`)
				if got, want := points(doc.Data), []string{at + "||0|6,2"}; !reflect.DeepEqual(got, want) {
					t.Errorf("%s series:\n got %q\nwant %q", unit, got, want)
				}
			}

			// Two date ranges: each point says which.
			doc = serve(t, "r-ranges", `{format: timeseries, time_unit: month, `+both+`, date_ranges: [{from: "2024-01-01", to: "2024-01-03"}, {from: "2024-01-04", to: "2024-01-06"}]}`)
			if got, want := points(doc.Data), []string{"2024-01-01T00:00:00Z||0|3", "2024-01-01T00:00:00Z||1|3"}; !reflect.DeepEqual(got, want) ||
				!reflect.DeepEqual(doc.Context.DateRanges, []string{"Jan 1, 2024 - Jan 3, 2024", "Jan 4, 2024 - Jan 6, 2024"}) {
				t.Errorf("two date ranges:\n got %q %q\nwant %q", got, doc.Context.DateRanges, want)
			}

			doc = serve(t, "r-users", `{format: users, `+both+`, values: [events, sum(payload.total)], `+days+`}`)
			users := map[string]string{}
			for _, p := range doc.Data {
				line := points([]reportPoint{p})[0]
				users[*p.GroupBy[0]] = strings.Replace(line, *p.GroupBy[0], "ID", 1)
			}
			if len(users) != 2 || users[x] != "2024-01-01T10:00:00Z|ID|0|5,200" {
				t.Errorf("users list: %q (X is %s)", users, x)
			}
			for id, line := range users {
				if id != x && line != "2024-01-06T08:00:00Z|ID|0|1,-" {
					t.Errorf("users list: Y is %q", line)
				}
			}
			if c := doc.Context; c.TimeUnit != nil || c.DataFormat != "users" || !reflect.DeepEqual(c.GroupBy, []string{"User → ID"}) {
				t.Errorf("users context: %+v", c)
			}

			doc = serve(t, "r-events", `{format: events, events: [eshop/purchase/1-0-0], group_by: [payload.currency], values: [events, sum(payload.total)], `+days+`}`)
			want = []string{
				"2024-01-04T15:00:00Z|e5," + x + ",EUR|0|1,120.5",
				"2024-01-05T16:00:00Z|e6," + x + ",-|0|1,79.5",
			}
			if got := points(doc.Data); !reflect.DeepEqual(got, want) {
				t.Errorf("events list:\n got %q\nwant %q", got, want)
			}
			if c := doc.Context; c.DataFormat != "events" || !reflect.DeepEqual(c.GroupBy, []string{"Event → ID", "User → ID", "payload.currency"}) {
				t.Errorf("events context: %+v", c)
			}

			// Consent: users without it are left out. Read as a bool, X's
			// first name ("Jane") is not true, so of missing_granted's
			// users only Y, who has none, is in.
			doc = serve(t, "r-consent", `{format: users, `+both+`, `+days+`}`, &consent.Filter{Purpose: consent.Analytics, Attribute: "crm_first_name_last", MissingGranted: true})
			if len(doc.Data) != 1 || *doc.Data[0].GroupBy[0] == x || points(doc.Data)[0] != "2024-01-06T08:00:00Z|"+*doc.Data[0].GroupBy[0]+"|0|1" {
				t.Errorf("users with consent: %q", points(doc.Data))
			}

			// A range outside the events: no points, still a document.
			doc = serve(t, "r-empty", `{format: timeseries, `+both+`, date_ranges: [{from: "2023-01-01", to: "2023-12-31"}]}`)
			if doc.Data == nil || len(doc.Data) != 0 || *doc.Context.TimeUnit != "day" {
				t.Errorf("empty report: %+v", doc)
			}
		})
	}
}

// TestPluginReportApply: a report plugin's declaration goes in with the
// config (PUT /v1/config) and is listed with its defaults; bad ones,
// hostile JSON included, are refused with the field that is wrong.
func TestPluginReportApply(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newPluginServer(t, backend, plugin.Options{})
			ok := `{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": {"format": "timeseries", "events": ["web/page_view/1-0-0"]}}]}`
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(ok)); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			list := decode[struct {
				Plugins []plugin.Definition `json:"plugins"`
			}](t, s.do(t, "GET", "/v1/plugins", nil, nil))
			if len(list.Plugins) != 1 || !list.Plugins[0].IsReport() || list.Plugins[0].Report.TimeUnit != "day" ||
				!reflect.DeepEqual(list.Plugins[0].Report.Values, []string{"events"}) || list.Plugins[0].Report.DateRanges[0].LastDays != 30 {
				t.Fatalf("listed: %+v", list.Plugins)
			}
			for body, want := range map[string]string{
				`{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": {"format": "pie", "events": ["a/b/1"]}}]}`:                                                `plugins[0].report.format: "pie" must be one of timeseries, users, events`,
				`{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": {"format": "users", "events": ["a/b/\u0000"]}}]}`:                                         "plugins[0].report.events[0]",
				`{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": {"format": "users", "events": ["a/b/1"], "group_by": ["\ud800"]}}]}`:                      "found invalid Unicode character escape code",
				`{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": {"format": "users", "events": ["a/b/1"], "date_ranges": [{"last_days": 1e300}]}}]}`:       "cannot unmarshal !!float \x601e300\x60 into int",
				`{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": {"format": "users", "events": ["a/b/1"], "date_ranges": [{"last_days": 99999999999}]}}]}`: "plugins[0].report.date_ranges[0]: last_days is 99999999999",
				`{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": {"format": "users", "events": ["` + strings.Repeat("a/b/c\", \"", 100) + `a/b/c"]}}]}`:    "plugins[0].report.events: must list 1 to 100 event types",
				`{"plugins": [{"name": "r", "kind": "report", "command": ["x"], "report": ` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}]}`:                         "",
			} {
				expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(body)), 400, "invalid_config", want)
			}
		})
	}
}
