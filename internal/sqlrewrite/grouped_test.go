package sqlrewrite

import "testing"

func TestGroupedForm(t *testing.T) {
	for _, c := range []struct {
		q  string
		ok bool
	}{
		{"SELECT count(*) AS value FROM base", true},
		{"SELECT count(*) AS value FROM base WHERE type = 'page_view'", true},
		{"select COUNT(*) as VALUE from BASE where source_id = 'shop' AND type = 'purchase'", true},
		{"SELECT count(*) / CAST((SELECT value FROM context WHERE key = 'p90_events') AS DOUBLE PRECISION) AS value FROM base", true},
		{"SELECT sum(CAST(payload->>'n' AS INTEGER)) + 1 AS value FROM base WHERE base.type IN ('a', 'b')", true},
		{"SELECT count(*) FILTER (WHERE type = 'x') AS value FROM base", true},
		{"SELECT max(event_time) AS value FROM base WHERE type = 'group by; limit 1' AND source_id <> 'it''s, from x'", true},
		{"SELECT sum(length(type)) AS value FROM base WHERE source_id = 'shop'", true},
		{"SELECT count(*) + 100 AS value FROM base WHERE type = 'no such type'", true},
		{"SELECT count(DISTINCT type) AS value FROM base WHERE EXISTS (SELECT 1 FROM context WHERE key = type)", true},
		// Not aggregates at the top, or not one row per entity.
		{"SELECT type AS value FROM base", false},
		{"SELECT coalesce(count(*), 0) AS value FROM base", false},
		{"SELECT count(*) AS value FROM base LIMIT 1", false},
		{"SELECT count(*) AS value FROM base WHERE type = 'page_view' LIMIT 1", false},
		{"SELECT DISTINCT type AS value FROM base", false},
		{"SELECT count(*) AS value FROM base GROUP BY type", false},
		{"SELECT count(*) AS value FROM base HAVING count(*) > 1", false},
		{"SELECT count(*) AS value FROM base ORDER BY 1", false},
		{"SELECT count(*) AS value FROM base UNION ALL SELECT 1", false},
		{"SELECT DISTINCT count(*) AS value FROM base", false},
		{"SELECT count(*) OVER () AS value FROM base", false},
		{"SELECT count(*) AS value FROM base JOIN context ON true", false},
		{"SELECT count(*) AS value FROM base, context", false},
		{"SELECT count(*) AS value, 1 AS other FROM base", false},
		{"SELECT count(*) AS v FROM base", false},
		{"SELECT count(*) value FROM base", false},
		{"SELECT count(*) AS value FROM base b", false},
		{"SELECT count(*) AS value FROM base USING SAMPLE 10", false},
		{"SELECT count(*) AS value FROM base WHERE", false},
		{"SELECT count(*) AS value FROM (SELECT * FROM base) x", false},
		{"WITH b AS (SELECT * FROM base) SELECT count(*) AS value FROM b", false},
		{"FROM base SELECT count(*) AS value", false},
		// Subqueries that read base, nested or correlated, see one entity's
		// events in the LATERAL join: not rewritten.
		{"SELECT count(*) AS value FROM base WHERE event_time = (SELECT max(event_time) FROM base)", false},
		{"SELECT count(*) AS value FROM base WHERE id IN (SELECT id FROM (SELECT id FROM base) x)", false},
		{"SELECT count(*) AS value FROM base WHERE EXISTS (SELECT 1 FROM context c WHERE c.key = base.type)", false},
		{"SELECT count(*) + (SELECT count(*) FROM base) AS value FROM base", false},
		{"SELECT count(base) AS value FROM base", false},
		{"SELECT count(*) AS value FROM base WHERE due.entity_id = 'x'", false},
		{"SELECT count(*) AS value FROM base WHERE entity_id IS NOT NULL", false},
		// What the tokenizer does not read with certainty.
		{"SELECT count(*) AS value FROM base; SELECT 1", false},
		{"SELECT count(*) AS value FROM base -- comment", false},
		{"SELECT count(*) AS value FROM base /* c */", false},
		{"SELECT count(*) AS value FROM base WHERE type = E'a\\'b'", false},
		{"SELECT count(*) AS value FROM base WHERE type = $$x$$", false},
		{"SELECT count(*) AS value FROM base WHERE type = 'unclosed", false},
		{"SELECT count(*) AS value FROM base WHERE (type = 'a'", false},
		{"SELECT count(*) AS value FROM base WHERE type = 'a')", false},
		// Found by FuzzGrouped: FROM as the last word.
		{"SELECT Count()AS vAlue FROM", false},
	} {
		if _, ok := GroupedForm(c.q); ok != c.ok {
			t.Errorf("%q: grouped %v, want %v", c.q, ok, c.ok)
		}
	}
	rest, _ := GroupedForm("  SELECT count(*) AS value FROM base")
	if rest != " count(*) AS value FROM base" {
		t.Errorf("rest %q", rest)
	}
}
