package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
)

// TestConfigReadsMaskKeys: GET /v1/config showed delivery API keys in
// plain text. Reads mask them (the last 4 characters of long ones stay,
// to tell them apart); a document read back and PUT keeps the keys in
// force, and a masked value that masks no key in force is refused.
func TestConfigReadsMaskKeys(t *testing.T) {
	const long, short = "sk_live_0123456789abcdef", "short-key"
	doc := fmt.Sprintf("# delivery keys\ndelivery:\n  api_keys: [%s, %s] # the shop's\n  paging_ttl: 10m\n", long, short)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newDeliveryServer(t, backend, doc, api.Config{})
			keysInForce := func() []string {
				_, c, err := s.pipe.Config(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return c.Delivery.APIKeys
			}
			noKeys := func(what string, r response) {
				t.Helper()
				if r.status != 200 || strings.Contains(string(r.body), long) || strings.Contains(string(r.body), short) {
					t.Fatalf("%s shows a key: %d %s", what, r.status, r.body)
				}
				if !strings.Contains(string(r.body), `"********cdef"`) || !strings.Contains(string(r.body), `"********"`) {
					t.Errorf("%s: no masked keys in %s", what, r.body)
				}
			}
			asJSON := s.do(t, "GET", "/v1/config", nil, nil)
			noKeys("GET /v1/config", asJSON)
			var parsed map[string]any
			if err := json.Unmarshal(asJSON.body, &parsed); err != nil {
				t.Fatalf("masked JSON: %v: %s", err, asJSON.body)
			}
			asYAML := s.do(t, "GET", "/v1/config?format=yaml", nil, nil)
			noKeys("GET /v1/config?format=yaml", asYAML)
			if !strings.Contains(string(asYAML.body), "# the shop's") {
				t.Errorf("comments lost: %s", asYAML.body)
			}

			// Read back and PUT: the keys stay.
			for _, read := range []response{asYAML, asJSON} {
				if r := s.do(t, "PUT", "/v1/config", nil, read.body); r.status != 200 {
					t.Fatalf("PUT of the masked document: %d %s", r.status, r.body)
				}
				if got := keysInForce(); !slices.Equal(got, []string{long, short}) {
					t.Fatalf("keys in force %q", got)
				}
			}
			// Reordered, the masks still find their keys; a new key given
			// in full replaces one.
			reordered := strings.Replace(string(asYAML.body), `["********cdef", "********"]`, `["new-key-000", "********cdef"]`, 1)
			if reordered == string(asYAML.body) {
				t.Fatalf("the test's replacement did not apply to %s", asYAML.body)
			}
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(reordered)); r.status != 200 {
				t.Fatalf("PUT reordered: %d %s", r.status, r.body)
			}
			if got := keysInForce(); !slices.Equal(got, []string{"new-key-000", long}) {
				t.Fatalf("keys in force %q", got)
			}
			// The masks are not keys.
			r := s.do(t, "POST", "/deliver", map[string]string{"x-api-key": "********cdef"}, []byte("{}"))
			if r.status != 401 {
				t.Errorf("a mask opened /deliver: %d", r.status)
			}
			// A mask of no key in force: refused, naming the place, and
			// nothing changes.
			bad := "delivery:\n  api_keys: [\"********zzzz\"]\n"
			expectError(t, s.do(t, "PUT", "/v1/config", nil, []byte(bad)), 400, "invalid_config", "delivery.api_keys[0]: \"********zzzz\" is a masked value")
			if got := keysInForce(); !slices.Equal(got, []string{"new-key-000", long}) {
				t.Fatalf("keys in force after a refused PUT %q", got)
			}
		})
	}
}
