package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/rank"
)

func TestParseYAMLAndJSONAlike(t *testing.T) {
	y, err := config.Parse(demo.Config)
	if err != nil {
		t.Fatal(err)
	}
	if len(y.Stitching.Rules) != 12 || y.Stitching.Identifiers["email"].MaxPerEntity != 1 {
		t.Fatalf("demo config parsed as %+v", y.Stitching)
	}
	j, err := config.Parse([]byte(y.JSON()))
	if err != nil {
		t.Fatal(err)
	}
	if j.JSON() != y.JSON() || j.StitchingHash() != y.StitchingHash() {
		t.Errorf("JSON round trip changed the config:\n%s\n%s", y.JSON(), j.JSON())
	}
	if !strings.Contains(y.JSON(), `payload->>'cookie_id'`) {
		t.Errorf("normalized JSON escapes SQL: %s", y.JSON())
	}
	other := *j
	other.Stitching.Rules = other.Stitching.Rules[1:]
	if other.StitchingHash() == y.StitchingHash() {
		t.Error("different rules, same fingerprint")
	}
}

func TestParseJobs(t *testing.T) {
	c, err := config.Parse([]byte("jobs:\n  stores:\n    job: blob_import\n    cron: \"0 0 6 * * ?\"\n    parameters: {source: \"file:///x\", limits: {n: 2}}\n  stitching:\n    enabled: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, st := c.Jobs["stores"], c.Jobs["stitching"]
	if s.Kind("stores") != "blob_import" || !s.IsEnabled() || st.Kind("stitching") != "stitching" || st.IsEnabled() {
		t.Fatalf("jobs = %+v", c.Jobs)
	}
	if !strings.Contains(c.JSON(), `"parameters":{"limits":{"n":2},"source":"file:///x"}`) {
		t.Fatalf("JSON = %s", c.JSON())
	}
}

func TestParseErrors(t *testing.T) {
	rule := "stitching:\n  rules:\n    - identifier: email\n      event: web/form_submit\n      value_expression: payload->>'email'\n"
	for _, c := range []struct{ doc, want string }{
		{"  \n", "the document is empty"},
		{"stitching:\n  rule: []\n", "line 2: field rule not found"},
		{`{"stitching": {"rules": [], "x": 1}}`, "field x not found"},
		{"stitching: [", "not a valid weft.yaml"},
		{rule + "---\n{}\n", "more than one document"},
		{strings.Replace(rule, "identifier: email", "identifier: E-mail", 1), `stitching.rules[0] (E-mail from web/form_submit): identifier "E-mail" must be lower case`},
		{strings.Replace(rule, "web/form_submit", "form_submit", 1), `event "form_submit" must be source/type`},
		{rule + "    - identifier: x\n      event: a/b\n      value_expression: 1; DROP TABLE customer_events\n", "stitching.rules[1] (x from a/b): value_expression must be one expression"},
		{rule + "    - identifier: y\n      event: a/b\n      value_expression: \"\"\n", "stitching.rules[1] (y from a/b): value_expression is empty"},
		{rule + "  identifiers:\n    email:\n      blocked_pattern: \"(\"\n", "stitching.identifiers.email.blocked_pattern"},
		{rule + "  identifiers:\n    email:\n      max_per_entity: -1\n", "max_per_entity must be 0"},
		{rule + "  identifiers:\n    phone: {}\n", "stitching.identifiers.phone: no rule reads this identifier (rules read anon_user_id, email, user_id)"},
		{"jobs:\n  Nightly: {cron: \"0 0 6 * * ?\"}\n", "jobs.Nightly: job names must match"},
		{"jobs:\n  nightly: {cron: \"0 6 * * *\"}\n", "jobs.nightly.cron: cron \"0 6 * * *\" has 5 fields"},
		{"jobs:\n  nightly: {cron: \"0 0 6 * * ?\", schedule: x}\n", "field schedule not found"},
	} {
		_, err := config.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.doc, err, c.want)
		}
	}
}

func TestDeliveryValidation(t *testing.T) {
	base := "stitching: {rules: []}\nattributes:\n  - {id: fav, type: most_frequent, value: \"payload->>'category'\"}\n"
	for _, tc := range []struct{ doc, want string }{
		{"delivery: {paging_ttl: soon}", `delivery.paging_ttl: "soon" is not a positive Go duration`},
		{"delivery: {refresh: -1s}", `delivery.refresh: "-1s" is not a positive Go duration`},
		{"delivery: {identifiers: {user_id: User}}", `delivery.identifiers.user_id: "User" is not a stitching category`},
		{"delivery: {use_cases: {SHOP: {}}}", "delivery.use_cases.SHOP: unknown use case"},
		{"delivery: {use_cases: {FEED: {rules: [{item: category}]}}}", "delivery.use_cases.FEED.rules[0]: give exactly one of attribute and property"},
		{"delivery: {use_cases: {FEED: {rules: [{item: category, attribute: nope}]}}}", `delivery.use_cases.FEED.rules[0].attribute: "nope" is not a declared attribute`},
		{"delivery: {use_cases: {FEED: {rules: [{item: 'a..b', attribute: fav}]}}}", `delivery.use_cases.FEED.rules[0].item: "a..b" is not a property path`},
		{"delivery: {use_cases: {FEED: {rules: [{item: a, property: score}]}}}", `delivery.use_cases.FEED.rules[0].property: "score" is not a property reference`},
		{"delivery: {use_cases: {FEED: {rules: [{item: a, property: p/2026/score}]}}}", `delivery.use_cases.FEED.rules[0].property: "p/2026/score" is not a property reference`},
		{"delivery: {use_cases: {FEED: {rules: [{item: a, attribute: fav, match: like}]}}}", `delivery.use_cases.FEED.rules[0].match: "like" is not a match kind`},
		{"delivery: {use_cases: {FEED: {rules: [{item: a, attribute: fav, weight: .nan}]}}}", `delivery.use_cases.FEED.rules[0].weight: must be a finite number`},
		{"delivery: {use_cases: {FEED: {engagement_prior: -1}}}", `delivery.use_cases.FEED.engagement_prior: must not be negative`},
		{"delivery: {use_cases: {FEED: {retrieval_weight: .inf}}}", `delivery.use_cases.FEED.retrieval_weight: must be a finite number`},
		{"delivery: {use_cases: {FEED: {action_weights: {PURCHASE: .nan}}}}", `delivery.use_cases.FEED.action_weights.PURCHASE: give an action type name`},
	} {
		_, err := config.Parse([]byte(base + tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.doc, err, tc.want)
		}
	}
	c, err := config.Parse([]byte(base + "delivery: {paging_ttl: 5m, use_cases: {default: {rules: [{item: category, attribute: fav}, " +
		"{item: a.b, property: rfm/rfm_code, match: scale, weight: -0.5}, {name: exact, item: c, property: rfm/20260301T120000Z/rfm_code}]}}}"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivery.PagingTTLOrDefault().Minutes() != 5 || c.Delivery.RefreshOrDefault() != rank.RefreshDefault || c.Delivery.UserIDCategory() != "user_id" {
		t.Errorf("defaults: %+v", c.Delivery)
	}
	u := c.Delivery.UseCases["default"]
	if r, e, p := u.Weights(); r != 1 || e != 1 || p != 1 || u.EngagementPriorOrDefault() != rank.EngagementPriorDefault {
		t.Errorf("use case defaults: %v %v %v %v", r, e, p, u.EngagementPriorOrDefault())
	}
	if got := []string{u.Rules[0].Label(), u.Rules[1].Label(), u.Rules[2].Label()}; !reflect.DeepEqual(got, []string{"category=fav", "a.b=rfm/rfm_code", "exact"}) {
		t.Errorf("labels: %v", got)
	}
	if u.Rules[0].WeightOrDefault() != 1 || u.Rules[1].WeightOrDefault() != -0.5 {
		t.Errorf("rule weights: %v %v", u.Rules[0].WeightOrDefault(), u.Rules[1].WeightOrDefault())
	}
}
