package trackplan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// TestCheckRawHostile: the check itself copes with what the ingester
// refuses before it (lone surrogates, NUL) and with what it lets through
// (numbers of 1,000 digits, exponents of 999), and masks the property
// names no schema declares.
func TestCheckRawHostile(t *testing.T) {
	p, err := Compile(Config{Modes: map[string]Mode{"shop": ModeReject}, Events: []Event{{Event: "shop/purchase", Schema: map[string]any{
		"type": "object", "required": []any{"total"},
		"properties":           map[string]any{"total": map[string]any{"type": "number", "maximum": 100}, "name": map[string]any{"type": "string", "maxLength": 3}},
		"additionalProperties": map[string]any{"type": "string"},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ payload, want string }{
		{`{"total": 1, "name": "\ud800\ud800\ud800\ud800"}`, "/name /properties/name/maxLength must be at most 3 characters"},
		{`{"total": 1, "name": "a\u0000bc"}`, "/name /properties/name/maxLength must be at most 3 characters"},
		{`{"total": 1e999}`, "/total /properties/total/maximum must be <= 100"},
		{`{"total": ` + strings.Repeat("9", 1000) + `}`, "/total /properties/total/maximum must be <= 100"},
		{`{"total": 1, "alice@example.com": 5}`, "/* /additionalProperties/type got number, want string"},
		{`{"totals": 1}`, "/ /required missing properties \"total\"; /* /additionalProperties/type got number, want string"},
	} {
		e := store.EventInsert{ID: "e", EventTypeKey: store.EventTypeKey{SourceID: "shop", Type: "purchase", Version: "1"}, EventTime: time.Now(), Payload: json.RawMessage(c.payload)}
		var got []string
		for _, v := range p.check(&decoder{keys: map[string]string{}}, &e, ModeReject) {
			path := v.Path
			if path == "" {
				path = "/"
			}
			got = append(got, path+" "+v.Rule+" "+v.Message)
		}
		if strings.Join(got, "; ") != c.want {
			t.Errorf("%.60s: %q, want %q", c.payload, strings.Join(got, "; "), c.want)
		}
	}
}
