package erasure

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestPrefilterAgreesWithSQL: wherever the Go evaluation of a rule says it
// is exact, it gives what the database gives for the stored event (NULL or
// the same text), on both backends; the tricky values are left to SQL.
func TestPrefilterAgreesWithSQL(t *testing.T) {
	payloads := []string{
		`{"email":" Alice@X.io ","cookie_id":"c-1"}`,
		`{"email":"Élise@x.io"}`,
		`{"email":"a\tb"}`,
		`{"email":"\tx "}`,
		`{"email":"x\n"}`,
		`{"email":null,"cookie_id":""}`,
		`{}`,
		`{"email":5,"cookie_id":true}`,
		`{"email":"q\"u\\o\u0041te"}`,
		`{"userInfo":{"anonUserId":"anon-1"},"email":"  "}`,
		`{"request":{"userInfo":{"userId":"u-2","x":[1,{"y":"}"}]}}}`,
		`{"userInfo":"not an object"}`,
		`{"userInfo":{"anonUserId":null},"request":{"userInfo":{"userId":"u-3"}}}`,
		`{ "cookie_id" : "spaced" , "email" : "B@Y.IO" }`,
		`{"nested":{"email":"no"},"list":["email"],"cookie_id":"c-2"}`,
		`{"em\u0061il":"Esc@X.io","cookie\"_id":"c-3","emai":"short","emaill":"long"}`,
	}
	rules := stitch.Config{Rules: []stitch.Rule{
		{Identifier: "email", Event: "web/*", ValueExpression: "lower(trim(payload->>'email'))"},
		{Identifier: "raw_email", Event: "web/x", ValueExpression: "payload->>'email'"},
		{Identifier: "cookie_id", Event: "web/x/1", ValueExpression: " ( payload ->> 'cookie_id' ) "},
		{Identifier: "anon", Event: "web/*", ValueExpression: "COALESCE(payload->'userInfo'->>'anonUserId', payload->'request'->'userInfo'->>'userId')"},
		{Identifier: "trimmed", Event: "web/*", ValueExpression: "trim(payload->>'email')"},
		{Identifier: "suffixed", Event: "web/*", ValueExpression: "payload->>'email' || '-x'"},
		{Identifier: "other", Event: "shop/*", ValueExpression: "payload->>'email'"},
	}}
	compiled := compileRules(rules)
	for i, want := range []bool{true, true, true, true, true, false, true} {
		if got := compiled[i].expr != nil; got != want {
			t.Errorf("rule %d (%s): evaluated in Go %v, want %v", i, rules.Rules[i].ValueExpression, got, want)
		}
	}
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, backend)
			var lines []string
			for i, p := range payloads {
				lines = append(lines, fmt.Sprintf(`{"id":"p-%d","source_id":"web","type":"x","version":"1","event_time":"2026-01-01T00:00:00Z","payload":%s}`, i, p))
			}
			dbtest.Ingest(t, db, lines...)
			ids, err := rules.IdentifiersSQL("event_log")
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.QueryContext(ctx, "SELECT id, category, value FROM ("+ids+") r")
			if err != nil {
				t.Fatal(err)
			}
			inSQL := map[string][]string{}
			for rows.Next() {
				var id, cat, v string
				if err := rows.Scan(&id, &cat, &v); err != nil {
					t.Fatal(err)
				}
				inSQL[id+"/"+cat] = append(inSQL[id+"/"+cat], v)
			}
			rows.Close()
			var asciiLower bool
			if err := db.QueryRowContext(ctx, "SELECT lower('ABC') = 'abc'").Scan(&asciiLower); err != nil {
				t.Fatal(err)
			}
			exact := 0
			for i, p := range payloads {
				id := fmt.Sprintf("p-%d", i)
				for _, r := range compiled {
					if r.expr == nil || r.source != "web" {
						continue
					}
					v, null, ok := r.expr.eval([]byte(p), asciiLower)
					if !ok {
						continue
					}
					exact++
					got := inSQL[id+"/"+r.category]
					switch {
					case null && len(got) != 0:
						t.Errorf("%s %s: Go says NULL, SQL gives %q (payload %s)", id, r.category, got, p)
					case !null && (len(got) != 1 || got[0] != v):
						t.Errorf("%s %s: Go gives %q, SQL %q (payload %s)", id, r.category, v, got, p)
					}
				}
			}
			if exact < 40 {
				t.Errorf("only %d evaluations were exact: the prefilter would rarely help", exact)
			}
		})
	}
}
