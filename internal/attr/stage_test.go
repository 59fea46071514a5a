package attr

import "testing"

func TestMayReadPayload(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT count(*) AS value FROM base WHERE type = 'page_view'":                         false,
		"SELECT count(*) / 2.0 AS value FROM base b JOIN base c ON b.id = c.id":               false,
		"SELECT payload->>'x' AS value FROM base":                                             true,
		"SELECT * FROM (SELECT 1 AS value) x":                                                 true,
		"SELECT b.* FROM base b":                                                              true,
		"SELECT to_json(base) AS value FROM base":                                             true,
		"SELECT count( * ) AS value FROM base WHERE source_id = 'shop' AND type = 'purchase'": false,
	} {
		if got := mayReadPayload(q); got != want {
			t.Errorf("mayReadPayload(%q) = %v", q, got)
		}
	}
}
