package stitch

import (
	"strings"
	"testing"
)

// TestPlainValue: only expressions of one value per event share a scan
// with the other rules of their event type (extractSQL); a set-returning
// one, or anything unclear, keeps a scan of its own.
func TestPlainValue(t *testing.T) {
	for expr, want := range map[string]bool{
		"payload->>'cookie_id'":                    true,
		"lower(trim(payload->>'email'))":           true,
		"lower(trim(payload->'traits'->>'email'))": true,
		"json_array_elements_text(json_build_array(payload->>'user_id', payload->'inbound_user_ids'->>0))": false,
		"payload->>'a' || 'x'":      false,
		"'x'":                       false,
		"lower(payload->>'a', 'b')": false,
		"(SELECT 1)":                false,
	} {
		if got := plainValue(expr); got != want {
			t.Errorf("plainValue(%q) = %v, want %v", expr, got, want)
		}
	}
	e := &Engine{rules: []compiledRule{
		{expr: "payload->>'a'", event: eventRef{source: "web", typ: "form"}},
		{expr: "lower(payload->>'b')", event: eventRef{source: "web", typ: "form"}},
		{expr: "json_array_elements_text(payload->'c')", event: eventRef{source: "web", typ: "form"}},
		{expr: "payload->>'a'", event: eventRef{source: "web", typ: "view"}},
	}}
	q := e.extractSQL(logWhere(seqRange))
	if n := strings.Count(q, "FROM event_log"); n != 3 {
		t.Errorf("%d scans of the log, want 3 (the two plain rules of forms in one):\n%s", n, q)
	}
	// A rule of one version shares the scan of its type, and tests its
	// version per row.
	e.rules = append(e.rules, compiledRule{expr: "payload->>'d'", event: eventRef{source: "web", typ: "view", version: "2-0-0"}})
	q = e.extractSQL(logWhere(seqRange))
	if n := strings.Count(q, "FROM event_log"); n != 3 || !strings.Contains(q, "CASE WHEN version = '2-0-0'") {
		t.Errorf("%d scans of the log, want 3 (the views' two rules in one, the version tested per row):\n%s", n, q)
	}
}
