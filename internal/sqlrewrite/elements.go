package sqlrewrite

import "regexp"

// arrayElements matches json(b)_array_elements(payload->'key'), a key of
// letters, digits and _ that starts with no digit.
var arrayElements = regexp.MustCompile(`(?i)\bjsonb?_array_elements\(\s*payload\s*->\s*'([a-z_][a-z0-9_]*)'\s*\)`)

// ArrayElementsOnce rewrites jsonb_array_elements(payload->'key') as
// unnest(json_extract(payload, '$.key[*]')): DuckDB then parses the payload
// once, not the payload, then the array taken out of it, then each element
// (the purchases' staging statement, 2.5 to 2.9 s, takes 2.1 s). The rows
// are the same: the elements as JSON, none when the key is missing or not
// an array.
func ArrayElementsOnce(expr string) string {
	return arrayElements.ReplaceAllString(expr, "unnest(json_extract(payload, '$$.${1}[*]'))")
}
