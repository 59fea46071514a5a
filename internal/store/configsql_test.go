package store

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckConfigSQL(t *testing.T) {
	for _, ok := range []string{
		"payload->>'email'",
		"lower(trim(payload->>'email'))",
		"json_array_elements_text(json_build_array(payload->>'user_id', payload->'inbound_user_ids'->>0))",
		"(payload->>'total')::numeric",
		"SELECT count(*) AS value FROM base WHERE type = 'purchase'",
		"payload->>'query' = 'glob(x)'",                         // names inside strings
		"payload->>'set_config'",                                // a key, not a call
		`"query"`,                                               // a column named query
		"E'it''s \\' glob(' || 'x'",                             // escapes in E strings
		"$$ read_text( $$ || $tag$ ; $tag$",                     // dollar quotes
		"value -- read_text('/etc/passwd'); DROP TABLE x\n + 1", // comment to the end of the line
		"/* glob( /* nested */ ; */ value",
		"SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY n) FROM (SELECT count(*) AS n FROM customer_events GROUP BY customer_entity_id) c",
		"(SELECT value FROM context WHERE key = 'k')",
		"updated_at", "deleted", "created_at > now()", // words that start with a keyword
		"$1",
	} {
		if err := CheckConfigSQL(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for sql, want := range map[string]string{
		"SELECT content FROM read_text('/etc/passwd')":           "read_text()",
		"SELECT * FROM READ_CSV ('/etc/passwd')":                 "read_csv()",
		"SELECT * FROM pg_catalog.\"set_config\"('a','b',false)": "set_config()",
		"glob/* comment */('/etc/*')":                            "glob()",
		"pg_read_file('/etc/passwd')":                            "pg_read_file()",
		"setval('customer_events_seq', 3)":                       "setval()",
		"pg_advisory_lock(1)":                                    "pg_advisory_lock()",
		"query_to_xml('select 1', true, false, '')":              "query_to_xml()",
		"SELECT * FROM query('SELECT 1')":                        "query()",
		"1; DROP TABLE event_log":                                "';'",
		"WITH d AS (DELETE FROM event_log RETURNING 1) SELECT 1": "DELETE",
		"(COPY x TO '/tmp/x')":                                   "COPY",
		"(ATTACH 'x.db')":                                        "ATTACH",
		"(INSTALL httpfs)":                                       "INSTALL",
		`U&"\0073et_config"('a','b',false)`:                      `U&"..."`,
		"'unterminated":                                          "unterminated string",
		"/* unterminated":                                        "unterminated comment",
	} {
		err := CheckConfigSQL(sql)
		if !errors.Is(err, ErrConfigSQL) || !strings.Contains(err.Error(), want+" is not allowed") {
			t.Errorf("%q: %v, want a refusal of %s", sql, err, want)
		}
	}
}
