package api_test

import (
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
)

// POST /v1/segments/preview answers hostile bodies with a 400, never a
// 500, and still previews a good tree afterwards: a lone UTF-16
// surrogate in a name, \u0000 in names and values, a huge number, deep
// nesting. (A lone surrogate inside a where string is decoded as U+FFFD
// by encoding/json and previewed, not refused: see the note.)
func TestSegmentPreviewHostile(t *testing.T) {
	deep := strings.Repeat(`{"not":`, 5000) + `{"attribute":"orders","op":">=","value":1}` + strings.Repeat(`}`, 5000)
	bodies := map[string]string{
		"lone surrogate in a name": `{"condition":{"attribute":"ord\ud800ers","op":">=","value":1}}`,
		"NUL in a name":            `{"condition":{"attribute":"orders\u0000","op":">=","value":1}}`,
		"NUL in a string value":    `{"condition":{"identifier":"email\u0000"}}`,
		"huge number":              `{"condition":{"attribute":"orders","op":">=","value":1e999999}}`,
		"deep nesting":             `{"condition":` + deep + `}`,
		"not JSON":                 `{"condition":`,
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(previewYAML)); r.status != 200 {
				t.Fatalf("apply: %s", r.body)
			}
			for name, body := range bodies {
				if r := s.do(t, "POST", "/v1/segments/preview", nil, []byte(body)); r.status != 400 {
					t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
				}
			}
			good := `{"condition":{"attribute":"orders","op":">=","value":1}}`
			if r := s.do(t, "POST", "/v1/segments/preview", nil, []byte(good)); r.status != 200 || !strings.Contains(string(r.body), `"count"`) {
				t.Fatalf("a good tree after the hostile ones: %d %s", r.status, r.body)
			}
		})
	}
}
