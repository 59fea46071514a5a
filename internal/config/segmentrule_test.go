package config_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/rank"
)

// TestSegmentRuleValidation: a ranking rule on a segment names a declared
// segment; a filter is keep or drop, on a segment rule, with neither a
// scale match nor a weight. Each error names the rule's field.
func TestSegmentRuleValidation(t *testing.T) {
	base := "stitching: {rules: []}\nattributes:\n  - {id: spend, type: sum, value: \"(payload->>'total')::numeric\"}\n" +
		"segments:\n  - {id: big_spenders, condition: {attribute: spend, op: \">=\", value: 1}}\n"
	rules := func(r string) string { return base + "delivery: {use_cases: {FEED: {rules: [" + r + "]}}}" }
	for _, tc := range []struct{ doc, want string }{
		{rules("{item: vip, segment: big_spender}"), `delivery.use_cases.FEED.rules[0].segment: "big_spender" is not a declared segment`},
		{rules("{item: vip, segment: big_spenders, attribute: spend}"), "delivery.use_cases.FEED.rules[0]: give exactly one of attribute and property (or a segment)"},
		{rules("{item: vip, segment: big_spenders, property: p/score}"), "delivery.use_cases.FEED.rules[0]: give exactly one of attribute and property (or a segment)"},
		{rules("{item: vip, segment: big_spenders}, {item: vip, segment: big_spenders, filter: hide}"), `delivery.use_cases.FEED.rules[1].filter: "hide" is not a filter (keep, drop)`},
		{rules("{item: vip, attribute: spend, filter: keep}"), "delivery.use_cases.FEED.rules[0].filter: only a segment rule filters"},
		{rules("{item: vip, segment: big_spenders, filter: drop, match: scale}"), "delivery.use_cases.FEED.rules[0].filter: a filter keeps or drops the insertions whose item is true: it has no scale match"},
		{rules("{item: vip, segment: big_spenders, filter: keep, weight: 2}"), "delivery.use_cases.FEED.rules[0].filter: a filter keeps or drops insertions: it has no weight"},
		{rules("{item: 'a..b', segment: big_spenders}"), `delivery.use_cases.FEED.rules[0].item: "a..b" is not a property path`},
	} {
		_, err := config.Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.doc, err, tc.want)
		}
	}
	c, err := config.Parse([]byte(rules("{name: vip, item: vip_offer, segment: big_spenders, weight: 2}, " +
		"{item: members_only, segment: big_spenders, filter: keep}, {item: upsell, segment: big_spenders, filter: drop}")))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Delivery.UseCases["FEED"].Rules
	if r[0].Label() != "vip" || r[0].WeightOrDefault() != 2 || r[1].Label() != "members_only=big_spenders" ||
		r[1].Filter != rank.FilterKeep || r[2].Filter != rank.FilterDrop {
		t.Errorf("rules: %+v", r)
	}
}
