package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
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
	if !ok || p.Moment != config.Moment95Pct || p.FeatureColumn(0) != "feature_orders" || p.FeatureColumn(1) != "rfm" || p.Timeout().Minutes() != 10 {
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
		want config.PluginGoal
	}{
		{"{event: shop/purchase/1}", config.PluginGoal{Event: "shop/purchase/1"}},
		{"{attribute: spend, op: \">\", value: 100}", config.PluginGoal{Attribute: "spend", Op: ">", Value: 100.0}},
		{"{attribute: orders, op: \"<=\", value: 2.5}", config.PluginGoal{Attribute: "orders", Op: "<=", Value: 2.5}},
		{"{attribute: city, op: \"!=\", value: Berlin}", config.PluginGoal{Attribute: "city", Op: "!=", Value: "Berlin"}},
		{"{attribute: cities, op: is_set}", config.PluginGoal{Attribute: "cities", Op: "is_set"}},
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

func TestPluginVariations(t *testing.T) {
	doc := `plugins:
  - name: p
    command: [x]
    variables: [{name: iterations, default: 100}]
    hyperparameters:
      - {name: l2, spec: "float 0.0:1.0"}
      - {name: depth, spec: "integer 1,4"}
      - {name: color, spec: "category blue, green"}
    max_variations: 5
`
	c, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	vs, total, err := c.Plugins[0].Variations()
	if err != nil || total != 12 || len(vs) != 5 {
		t.Fatalf("variations %v, total %d, %v", vs, total, err)
	}
	want := []map[string]any{
		{"l2": 0.0, "depth": 1.0, "color": "blue"}, {"l2": 0.0, "depth": 1.0, "color": "green"},
		{"l2": 0.0, "depth": 4.0, "color": "blue"}, {"l2": 0.0, "depth": 4.0, "color": "green"},
		{"l2": 0.5, "depth": 1.0, "color": "blue"},
	}
	if !reflect.DeepEqual(vs, want) {
		t.Fatalf("variations %v, want %v", vs, want)
	}
	for spec, want := range map[string][]any{
		"integer 1:10":       {1.0, 6.0, 10.0},
		"integer 1:2":        {1.0, 2.0},
		"boolean true,false": {true, false},
		"float 1.22,2.33":    {1.22, 2.33},
	} {
		h := config.PluginHyperParameter{Name: "h", Spec: spec}
		if got, err := h.Values(); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v, want %v", spec, got, err, want)
		}
	}
	ok := "plugins:\n  - name: p\n    command: [x]\n    variables: [{name: a}]\n"
	for _, c := range []struct{ doc, want string }{
		{ok + "    hyperparameters: [{name: a, spec: \"integer 1,2\"}]\n", "plugins[0].hyperparameters[0].name: \"a\" is already a variable"},
		{ok + "    hyperparameters: [{name: b, spec: \"integer\"}]\n", "plugins[0].hyperparameters[0].spec: \"integer\" must be \"<type> <values>\""},
		{ok + "    hyperparameters: [{name: b, spec: \"int 1,2\"}]\n", "plugins[0].hyperparameters[0].spec: type \"int\" must be integer"},
		{ok + "    hyperparameters: [{name: b, spec: \"category a:b\"}]\n", "only integer and float take a range"},
		{ok + "    hyperparameters: [{name: b, spec: \"float 2:1\"}]\n", "start is above its end"},
		{ok + "    hyperparameters: [{name: b, spec: \"integer 1.5,2\"}]\n", "\"1.5\" is not an integer"},
		{ok + "    hyperparameters: [{name: b, spec: \"float 1:2\", steps: 101}]\n", "plugins[0].hyperparameters[0].steps: steps 101 must be from 1 to 100"},
		{ok + "    max_variations: 101\n", "plugins[0].max_variations: 101 must be from 1 to 100"},
	} {
		_, err := config.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
	}
}
