package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
)

const pluginAttrs = "attributes:\n  - {id: orders, type: num_of_unique, value: \"id\"}\n"

func TestParsePlugins(t *testing.T) {
	doc := pluginAttrs + `plugins:
  - name: conversion-likelihood
    command: [conversion-likelihood]
    goal: {event: shop/purchase/1}
    features: [{attribute: orders}, {property: rfm/20260101T000000Z/rfm_code, column: rfm}]
    variables:
      - {name: iterations, default: 300}
      - {name: l2, optional: true}
      - {name: mode, type: text, options: [fast, slow], default: fast}
      - {name: verbose, type: boolean, optional: true}
    stage_timeout: 10m
    schedule: "0 0 3 * * ?"
    moment: 95_pct
`
	c, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := c.Plugin("conversion-likelihood")
	if !ok || p.Moment != plugin.Moment95Pct || p.FeatureColumn(0) != "feature_orders" || p.FeatureColumn(1) != "rfm" || p.Timeout().Minutes() != 10 {
		t.Fatalf("plugin = %+v", p)
	}
	// Numbers always floats; unanswered optional ones absent; text numbers
	// (from --param k=v) converted.
	got, err := p.InputParams(map[string]any{"l2": "0.01"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"iterations": 300.0, "l2": 0.01, "mode": "fast"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("inputParams = %#v, want %#v", got, want)
	}
	for _, c := range []struct {
		answers map[string]any
		want    string
	}{
		{map[string]any{"nope": 1}, `unknown variable "nope"`},
		{map[string]any{"iterations": "many"}, `iterations: "many" is not a number`},
		{map[string]any{"mode": "medium"}, `not one of fast, slow`},
		{map[string]any{"verbose": "maybe"}, `not true or false`},
	} {
		if _, err := p.InputParams(c.answers); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.answers, err, c.want)
		}
	}
	// The JSON round trip keeps it.
	j, err := config.Parse([]byte(c.JSON()))
	if err != nil || !reflect.DeepEqual(j.Plugins, c.Plugins) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, j.Plugins, c.Plugins)
	}
}

const goalAttrs = "attributes:\n  - {id: orders, type: num_of_unique, value: \"id\"}\n" +
	"  - {id: city, type: last, value: \"payload->>'city'\"}\n  - {id: cities, type: list, value: \"payload->>'city'\"}\n" +
	"  - {id: spend, type: sum, value: \"(payload->>'total')::numeric\"}\n"

func TestParsePluginGoals(t *testing.T) {
	for _, c := range []struct {
		goal string
		want plugin.GoalSpec
	}{
		{"{event: shop/purchase/1}", plugin.GoalSpec{Event: "shop/purchase/1"}},
		{"{attribute: spend, op: \">\", value: 100}", plugin.GoalSpec{Attribute: "spend", Op: ">", Value: 100.0}},
		{"{attribute: orders, op: \"<=\", value: 2.5}", plugin.GoalSpec{Attribute: "orders", Op: "<=", Value: 2.5}},
		{"{attribute: city, op: \"!=\", value: Berlin}", plugin.GoalSpec{Attribute: "city", Op: "!=", Value: "Berlin"}},
		{"{attribute: cities, op: is_set}", plugin.GoalSpec{Attribute: "cities", Op: "is_set"}},
	} {
		c2, err := config.Parse([]byte(goalAttrs + "plugins:\n  - name: p\n    command: [x]\n    goal: " + c.goal + "\n"))
		if err != nil {
			t.Errorf("%s: %v", c.goal, err)
			continue
		}
		if got := *c2.Plugins[0].Goal; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %#v, want %#v", c.goal, got, c.want)
		}
		if j, err := config.Parse([]byte(c2.JSON())); err != nil || !reflect.DeepEqual(*j.Plugins[0].Goal, c.want) {
			t.Errorf("%s: JSON round trip: %v %+v", c.goal, err, j)
		}
	}
}

func TestParsePluginErrors(t *testing.T) {
	ok := "  - name: p\n    command: [x]\n"
	for _, c := range []struct{ doc, want string }{
		{"plugins:\n  - name: P\n    command: [x]\n", "plugins[0].name: \"P\" must be lower case"},
		{"plugins:\n" + ok + ok, "plugins[1].name: \"p\" is declared twice"},
		{"plugins:\n  - name: p\n", "plugins[0].command: is required"},
		{"plugins:\n" + ok + "    goal: {event: purchase}\n", "plugins[0].goal.event: \"purchase\" must be an event type"},
		{"plugins:\n" + ok + "    features: [{attribute: nope}]\n", "plugins[0].features[0].attribute: no attribute \"nope\""},
		{pluginAttrs + "plugins:\n" + ok + "    features: [{attribute: orders, property: x}]\n", "plugins[0].features[0]: give exactly one"},
		{pluginAttrs + "plugins:\n" + ok + "    features: [{attribute: orders}, {property: x, column: feature_orders}]\n", "plugins[0].features[1].column: column \"feature_orders\" is used twice"},
		{"plugins:\n" + ok + "    features: [{property: x, column: random}]\n", "plugins[0].features[0].column: \"random\" is a fixed dataset column"},
		{"plugins:\n" + ok + "    variables: [{name: a-b}]\n", "plugins[0].variables[0].name"},
		{"plugins:\n" + ok + "    variables: [{name: a, type: list}]\n", "plugins[0].variables[0].type"},
		{"plugins:\n" + ok + "    variables: [{name: a, default: x}]\n", "plugins[0].variables[0].default: a: \"x\" is not a number"},
		{"plugins:\n" + ok + "    stage_timeout: soon\n", "plugins[0].stage_timeout"},
		{"plugins:\n" + ok + "    schedule: \"0 3 * * *\"\n", "plugins[0].schedule: cron"},
		{"plugins:\n" + ok + "    timeout: 1h\n", "field timeout not found"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {event: a/b/c, attribute: orders, op: \">\", value: 1}\n", "plugins[0].goal: give exactly one of event"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {event: a/b/c, op: \">\"}\n", "plugins[0].goal.op: op and value belong to attribute goals"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: nope, op: is_set}\n", "plugins[0].goal.attribute: no attribute \"nope\""},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: orders, op: \"~\", value: 1}\n", "plugins[0].goal.op: \"~\" must be one of =, !=, >, >=, <, <=, is_set"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: orders, op: \">\"}\n", "plugins[0].goal.value: is required: a int"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: orders, op: \">\", value: \"100\"}\n", "plugins[0].goal.value: \"100\" is text"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: orders, op: is_set, value: 1}\n", "plugins[0].goal.value: is_set takes no value"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: city, op: \">\", value: x}\n", "plugins[0].goal.op: attribute city is a string: only =, != and is_set apply"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: city, op: \"=\", value: 3}\n", "plugins[0].goal.value: 3 must be text"},
		{goalAttrs + "plugins:\n" + ok + "    goal: {attribute: cities, op: \"=\", value: x}\n", "plugins[0].goal.op: attribute cities holds a list"},
		{"plugins:\n" + ok + "    moment: 90_pct\n", "plugins[0].moment: \"90_pct\" must be one of 0_sec, latest, 95_pct"},
		{"plugins:\n" + ok + "    moment: 95_pct\n", "plugins[0].moment: 95_pct needs an event goal"},
		{goalAttrs + "plugins:\n" + ok + "    moment: 95_pct\n    goal: {attribute: orders, op: is_set}\n", "plugins[0].moment: 95_pct needs an event goal"},
	} {
		_, err := config.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
	}
}

// parsePlugin parses the plugin p (command x) with the keys of body,
// each line indented by four spaces.
func parsePlugin(t *testing.T, body string) *plugin.Definition {
	t.Helper()
	c, err := config.Parse([]byte("plugins:\n  - name: p\n    command: [x]\n" + body))
	if err != nil {
		t.Fatal(err)
	}
	return &c.Plugins[0]
}

func TestPluginVariationsGrid(t *testing.T) {
	p := parsePlugin(t, `    variables: [{name: iterations, default: 100}]
    hyperparameters:
      - {name: l2, spec: "float 0.0:1.0", steps: 3}
      - {name: depth, spec: "integer 1,4"}
      - {name: color, spec: "category blue, green"}
    max_variations: 5
`)
	want := []map[string]any{
		{"l2": 0.0, "depth": 1.0, "color": "blue"}, {"l2": 0.0, "depth": 1.0, "color": "green"},
		{"l2": 0.0, "depth": 4.0, "color": "blue"}, {"l2": 0.0, "depth": 4.0, "color": "green"},
		{"l2": 0.5, "depth": 1.0, "color": "blue"},
	}
	for _, seed := range []uint64{1, 2} { // no ranges to draw: the seed does not matter
		vs, total, err := p.Variations(seed, nil)
		if err != nil || total != 12 || !reflect.DeepEqual(vs, want) {
			t.Fatalf("seed %d: variations %v, total %d, %v; want %v", seed, vs, total, err, want)
		}
	}
	// A fixed (answered) hyper-parameter is not varied.
	vs, total, err := p.Variations(1, map[string]any{"l2": 0.25, "color": "green"})
	if err != nil || total != 2 || !reflect.DeepEqual(vs, []map[string]any{{"depth": 1.0}, {"depth": 4.0}}) {
		t.Fatalf("fixed l2 and color: %v, total %d, %v", vs, total, err)
	}
	if vs, total, err := p.Variations(1, map[string]any{"l2": 0.25, "color": "green", "depth": 4.0}); err != nil || vs != nil || total != 0 {
		t.Fatalf("all fixed: %v, total %d, %v", vs, total, err)
	}
	for spec, want := range map[string][]any{
		"integer 1:10":       {1.0, 6.0, 10.0},
		"integer 1:2":        {1.0, 2.0},
		"boolean true,false": {true, false},
		"float 1.22,2.33":    {1.22, 2.33},
	} {
		h := plugin.HyperParameter{Name: "h", Spec: spec, Steps: 3}
		if got, err := h.Values(); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v, want %v", spec, got, err, want)
		}
	}
	if got, err := (&plugin.HyperParameter{Name: "h", Spec: "float 0:1"}).Values(); err != nil || got != nil {
		t.Errorf("a range without steps has no list of values: %v %v", got, err)
	}
}

func TestPluginVariationsDrawn(t *testing.T) {
	p := parsePlugin(t, `    hyperparameters:
      - {name: depth, spec: "integer 1,4"}
      - {name: l2, spec: "float 0.5:2"}
      - {name: trees, spec: "integer 10:1000"}
    max_variations: 7
`)
	vs, total, err := p.Variations(42, nil)
	if err != nil || total != 0 || len(vs) != 7 {
		t.Fatalf("variations %v, total %d, %v", vs, total, err)
	}
	again, _, _ := p.Variations(42, nil)
	other, _, _ := p.Variations(43, nil)
	if !reflect.DeepEqual(vs, again) {
		t.Fatalf("the same seed drew %v, then %v", vs, again)
	}
	if reflect.DeepEqual(vs, other) {
		t.Fatalf("seeds 42 and 43 drew the same values %v", vs)
	}
	l2s := map[float64]bool{}
	for k, v := range vs {
		l2, trees := v["l2"].(float64), v["trees"].(float64)
		if v["depth"] != []float64{1, 4}[k%2] || l2 < 0.5 || l2 > 2 || trees < 10 || trees > 1000 || trees != float64(int(trees)) {
			t.Fatalf("variation %d: %v", k, v)
		}
		l2s[l2] = true
	}
	if len(l2s) != len(vs) {
		t.Fatalf("l2 repeats: %v", vs)
	}
	// Integer ranges whose every combination fits are enumerated.
	small := parsePlugin(t, `    hyperparameters:
      - {name: n, spec: "integer 1:3"}
      - {name: c, spec: "category a,b"}
`)
	vs, total, err = small.Variations(42, nil)
	want := []map[string]any{{"n": 1.0, "c": "a"}, {"n": 1.0, "c": "b"}, {"n": 2.0, "c": "a"}, {"n": 2.0, "c": "b"}, {"n": 3.0, "c": "a"}, {"n": 3.0, "c": "b"}}
	if err != nil || total != 6 || !reflect.DeepEqual(vs, want) {
		t.Fatalf("small integer range: %v, total %d, %v", vs, total, err)
	}
	// An integer range with fewer values than variations: no repeats.
	few := parsePlugin(t, `    hyperparameters: [{name: n, spec: "integer 1:12"}]
    max_variations: 10
`)
	vs, total, err = few.Variations(7, nil)
	seen := map[any]bool{}
	for _, v := range vs {
		seen[v["n"]] = true
	}
	if err != nil || total != 12 || len(vs) != 10 || len(seen) != 10 {
		t.Fatalf("integer 1:12: %v, total %d, %v", vs, total, err)
	}
}

func TestPluginHyperParameterOverride(t *testing.T) {
	p := parsePlugin(t, `    variables: [{name: k, default: 3}]
    hyperparameters:
      - {name: l2, spec: "float 0:1", allow_override: true}
      - {name: depth, spec: "integer 1,4,10", allow_override: true}
      - {name: kernel, spec: "category linear,rbf", allow_override: true}
      - {name: fixed, spec: "boolean true,false"}
`)
	in, err := p.InputParams(map[string]any{"l2": "0.25", "depth": 4, "kernel": "rbf"})
	if want := map[string]any{"k": 3.0, "l2": 0.25, "depth": 4.0, "kernel": "rbf"}; err != nil || !reflect.DeepEqual(in, want) {
		t.Fatalf("inputParams %v %v, want %v", in, err, want)
	}
	vs, _, err := p.Variations(1, in)
	if err != nil || !reflect.DeepEqual(vs, []map[string]any{{"fixed": true}, {"fixed": false}}) {
		t.Fatalf("variations with overrides: %v %v", vs, err)
	}
	for _, c := range []struct {
		answers map[string]any
		want    string
	}{
		{map[string]any{"fixed": true}, "hyper-parameter cannot be answered: fixed is an auto-optimized hyper-parameter of plugin p without allow_override: true"},
		{map[string]any{"l2": 1.5}, `l2: 1.5 is outside the range of spec "float 0:1"`},
		{map[string]any{"l2": "x"}, `l2: "x" is not a number`},
		{map[string]any{"depth": 5}, `depth: 5 is not one of the values of spec "integer 1,4,10"`},
		{map[string]any{"depth": 4.5}, `depth: 4.5 is not a whole number (spec "integer 1,4,10")`},
		{map[string]any{"kernel": "poly"}, `kernel: poly is not one of the values of spec "category linear,rbf"`},
		{map[string]any{"nope": 1}, `unknown variable "nope": plugin p asks k, l2, depth, kernel`},
	} {
		if _, err := p.InputParams(c.answers); err == nil || err.Error() != c.want {
			t.Errorf("%v: error %v, want %q", c.answers, err, c.want)
		}
	}
	if _, err := p.InputParams(map[string]any{"fixed": true}); !errors.Is(err, plugin.ErrNotOverridable) {
		t.Errorf("not errors.Is ErrNotOverridable: %v", err)
	}
}

func TestPluginHyperParameterErrors(t *testing.T) {
	ok := "plugins:\n  - name: p\n    command: [x]\n    variables: [{name: a}]\n"
	for _, c := range []struct{ doc, want string }{
		{ok + "    hyperparameters: [{name: a, spec: \"integer 1,2\"}]\n", "plugins[0].hyperparameters[0].name: \"a\" is already a variable"},
		{ok + "    hyperparameters: [{name: b, spec: \"integer\"}]\n", "plugins[0].hyperparameters[0].spec: \"integer\" must be \"<type> <values>\""},
		{ok + "    hyperparameters: [{name: b, spec: \"int 1,2\"}]\n", "plugins[0].hyperparameters[0].spec: type \"int\" must be integer"},
		{ok + "    hyperparameters: [{name: b, spec: \"category a:b\"}]\n", "only integer and float take a range"},
		{ok + "    hyperparameters: [{name: b, spec: \"float 2:1\"}]\n", "start is above its end"},
		{ok + "    hyperparameters: [{name: b, spec: \"integer 1.5,2\"}]\n", "\"1.5\" is not an integer"},
		{ok + "    hyperparameters: [{name: b, spec: \"float 1:2\", steps: 101}]\n", "plugins[0].hyperparameters[0].steps: steps 101 must be from 1 to 100"},
		{ok + "    hyperparameters: [{name: b, spec: \"float 1:2\", steps: -1}]\n", "plugins[0].hyperparameters[0].steps: steps -1 must be from 1 to 100 (leave it out to draw values of a range at random)"},
		{ok + "    max_variations: 101\n", "plugins[0].max_variations: 101 must be from 1 to 100"},
		{ok + "    parallel_variations: 17\n", "plugins[0].parallel_variations: 17 must be from 1 to 16 (default 2)"},
		{ok + "    parallel_batches: 17\n", "plugins[0].parallel_batches: 17 must be from 1 to 16 (default 1: one batch after the other)"},
		{ok + "    parallel_batches: -1\n", "plugins[0].parallel_batches: -1 must be from 1 to 16"},
	} {
		_, err := config.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
	}
}

// TestParseReportPlugins: a report plugin's declaration with its
// defaults filled in, and a JSON round trip (the plugins API's form).
func TestParseReportPlugins(t *testing.T) {
	c, err := config.Parse([]byte(`plugins:
  - name: forecast
    kind: report
    command: [x]
    variables: [{name: forecast_periods, default: 7}]
    report:
      format: timeseries
      events: [shop/purchase/1-0-0]
      group_by: [event_type, payload.address.country]
      values: [events, users, sum(payload.total)]
      inputs: [{name: forecast_value, value_index: 2}, {name: country, group_by_index: 1}]
  - name: ab
    kind: report
    command: [x]
    report: {format: users, events: [a/b/1], date_ranges: [{last_days: 7}, {from: "2024-01-01", to: "2024-01-31"}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Plugins[0]
	if !f.IsReport() || f.Report.TimeUnit != "day" || len(f.Report.DateRanges) != 1 || f.Report.DateRanges[0].LastDays != 30 {
		t.Fatalf("defaults: %+v", f.Report)
	}
	in := f.Report.InputData()
	if !reflect.DeepEqual(in, map[string]any{"forecast_value": map[string]any{"type": "number", "valueIndex": 2},
		"country": map[string]any{"type": "text", "groupByIndex": 1}}) {
		t.Fatalf("inputData: %v", in)
	}
	ab := c.Plugins[1]
	if ab.Report.TimeUnit != "" || !reflect.DeepEqual(ab.Report.Values, []string{"events"}) {
		t.Fatalf("users defaults: %+v", ab.Report)
	}
	// The last 7 days are today and the 6 before; dates are whole days.
	ps := ab.Report.Periods(time.Date(2026, 12, 6, 20, 30, 0, 0, time.UTC))
	if ps[0].From != time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) || ps[0].To != time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) ||
		ps[0].Label != "Last 7 days: Nov 30, 2026 - Dec 6, 2026" || ps[1].To != time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC) ||
		ps[1].Label != "Jan 1, 2024 - Jan 31, 2024" {
		t.Fatalf("periods: %+v", ps)
	}
	j, err := config.Parse([]byte(c.JSON()))
	if err != nil || !reflect.DeepEqual(j.Plugins[0].Report, f.Report) || j.Plugins[0].Kind != "report" {
		t.Fatalf("JSON round trip: %v %+v", err, j)
	}
	if c.Plugins[0].Report == nil || (&plugin.Definition{}).IsReport() {
		t.Fatal("an intelligence plugin is not a report plugin")
	}
}

// TestParseReportPluginErrors: bad report declarations are refused at
// apply, naming the field.
func TestParseReportPluginErrors(t *testing.T) {
	head := "plugins:\n  - name: p\n    command: [x]\n"
	rep := head + "    kind: report\n"
	ev := "events: [a/b/1]"
	for _, c := range []struct{ doc, want string }{
		{head + "    kind: chart\n", `plugins[0].kind: "chart" must be intelligence (the default) or report`},
		{head + "    report: {format: users, " + ev + "}\n", "plugins[0].report: only plugins of kind report declare a report"},
		{rep, "plugins[0].report: is required for kind report"},
		{rep + "    goal: {event: a/b/1}\n    report: {format: users, " + ev + "}\n", "plugins[0].goal: belongs to intelligence plugins"},
		{rep + "    features: [{property: x}]\n    report: {format: users, " + ev + "}\n", "plugins[0].features: belongs to intelligence plugins"},
		{rep + "    hyperparameters: [{name: h, spec: \"integer 1,2\"}]\n    report: {format: users, " + ev + "}\n", "plugins[0].hyperparameters: belongs to intelligence plugins"},
		{rep + "    moment: latest\n    report: {format: users, " + ev + "}\n", "plugins[0].moment: belongs to intelligence plugins"},
		{rep + "    report: {format: funnel, " + ev + "}\n", `plugins[0].report.format: "funnel" must be one of timeseries, users, events`},
		{rep + "    report: {format: users}\n", "plugins[0].report.events: must list 1 to 100 event types"},
		{rep + "    report: {format: users, events: [purchase]}\n", `plugins[0].report.events[0]: "purchase" must be an event type, source/type/version`},
		{rep + "    report: {format: users, time_unit: day, " + ev + "}\n", "plugins[0].report.time_unit: only a timeseries report has a time unit"},
		{rep + "    report: {format: timeseries, time_unit: year, " + ev + "}\n", `plugins[0].report.time_unit: "year" must be one of hour, day, week, month`},
		{rep + "    report: {format: users, group_by: [event_type], " + ev + "}\n", "plugins[0].report.group_by: a users report is grouped by User → ID only"},
		{rep + "    report: {format: timeseries, group_by: [country], " + ev + "}\n", `plugins[0].report.group_by[0]: "country" must be event_type or payload.<field>`},
		{rep + "    report: {format: timeseries, group_by: [\"payload.a'b\"], " + ev + "}\n", `plugins[0].report.group_by[0]: "payload.a'b" must be event_type or payload.<field>`},
		{rep + "    report: {format: timeseries, group_by: [event_type, event_type], " + ev + "}\n", `plugins[0].report.group_by[1]: "event_type" is listed twice`},
		{rep + "    report: {format: timeseries, group_by: [event_type, payload.a, payload.b, payload.c, payload.d, payload.e], " + ev + "}\n", "plugins[0].report.group_by: has 6 entries: at most 5"},
		{rep + "    report: {format: events, values: [users], " + ev + "}\n", "plugins[0].report.values[0]: users (distinct users) is a value of timeseries reports only: each point of format events is one event"},
		{rep + "    report: {format: timeseries, values: [avg(payload.x)], " + ev + "}\n", `plugins[0].report.values[0]: "avg(payload.x)" must be events, users or sum(payload.<field>)`},
		{rep + "    report: {format: timeseries, values: [sum(payload.x), sum(payload.x)], " + ev + "}\n", `plugins[0].report.values[1]: "sum(payload.x)" is listed twice`},
		{rep + "    report: {format: users, date_ranges: [{last_days: 0, from: 2024-01-01}], " + ev + "}\n", "plugins[0].report.date_ranges[0]: give last_days, or both from and to"},
		{rep + "    report: {format: users, date_ranges: [{last_days: 3, from: \"2024-01-01\", to: \"2024-01-02\"}], " + ev + "}\n", "plugins[0].report.date_ranges[0]: give either last_days or from and to, not both"},
		{rep + "    report: {format: users, date_ranges: [{last_days: 4000}], " + ev + "}\n", "plugins[0].report.date_ranges[0]: last_days is 4000: it must be from 1 to 3660"},
		{rep + "    report: {format: users, date_ranges: [{last_days: -1}], " + ev + "}\n", "plugins[0].report.date_ranges[0]: last_days is -1"},
		{rep + "    report: {format: users, date_ranges: [{from: \"2024-02-30\", to: \"2024-03-01\"}], " + ev + "}\n", `plugins[0].report.date_ranges[0]: from "2024-02-30" is not a date (YYYY-MM-DD)`},
		{rep + "    report: {format: users, date_ranges: [{from: \"2024-03-02\", to: \"2024-03-01\"}], " + ev + "}\n", "plugins[0].report.date_ranges[0]: to 2024-03-01 is before from 2024-03-02"},
		{rep + "    report: {format: users, date_ranges: [" + strings.Repeat("{last_days: 1}, ", 10) + "{last_days: 2}], " + ev + "}\n", "plugins[0].report.date_ranges: has 11 ranges: at most 10"},
		{rep + "    report: {format: users, inputs: [{name: v}], " + ev + "}\n", "plugins[0].report.inputs[0]: give exactly one of value_index and group_by_index"},
		{rep + "    report: {format: users, inputs: [{name: v, value_index: 1}], " + ev + "}\n", "plugins[0].report.inputs[0].value_index: 1 is not an index of values (the report has 1)"},
		{rep + "    report: {format: events, inputs: [{name: v, group_by_index: 2}], " + ev + "}\n", "plugins[0].report.inputs[0].group_by_index: 2 is not an index of a point's groupBy (it has 2)"},
		{rep + "    report: {format: users, inputs: [{name: v-1, value_index: 0}], " + ev + "}\n", `plugins[0].report.inputs[0].name: "v-1" must be letters, digits and _`},
		{rep + "    report: {format: users, inputs: [{name: v, value_index: 0}, {name: v, group_by_index: 0}], " + ev + "}\n", `plugins[0].report.inputs[1].name: "v" is declared twice`},
		{rep + "    report: {format: users, chart: bar, " + ev + "}\n", "field chart not found"},
	} {
		_, err := config.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
	}
}
