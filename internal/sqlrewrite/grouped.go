package sqlrewrite

import (
	"fmt"
	"strings"
)

// A custom query of the shape
//
//	SELECT <aggregate expression> AS value FROM base [WHERE <condition>]
//
// gives exactly one row per entity, and the same value whether it runs
// over one entity's events at a time (a LATERAL join)
// or over everyone's grouped by entity, as long as nothing in it reads
// base as a whole: the condition is row by row, the aggregates per group.
// GroupedForm recognises it conservatively (anything unexpected keeps the
// LATERAL join), and Grouped runs it as one GROUP BY.

// GroupedEntity is the column of base that holds the entity in the
// grouped statement; a query naming it is not rewritten.
const GroupedEntity = "weft_group_entity_id"

// sqlToken is a token of a custom query: a word (lower-cased), a quoted
// string or identifier (as written), or one character of punctuation.
type sqlToken struct {
	text string
	word bool
}

// tokenize splits q into tokens, or reports false for what it does not
// read with certainty: comments, dollar quotes, escaped or prefixed
// strings, semicolons, unbalanced quotes or parentheses.
func tokenize(q string) ([]sqlToken, bool) {
	var out []sqlToken
	depth := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isLetter(c) || c == '_':
			j := i
			for j < len(q) && (isLetter(q[j]) || q[j] == '_' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			if j < len(q) && (q[j] == '\'' || q[j] == '&' || q[j] == '$') {
				return nil, false // E'...', U&'...', B'...', $ in a name
			}
			out = append(out, sqlToken{text: strings.ToLower(q[i:j]), word: true})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.' || isLetter(q[j]) || q[j] == '_') {
				j++
			}
			out = append(out, sqlToken{text: q[i:j]})
			i = j
		case c == '\'' || c == '"':
			j := i + 1
			for {
				k := strings.IndexByte(q[j:], c)
				if k < 0 {
					return nil, false
				}
				j += k + 1
				if j < len(q) && q[j] == c { // a doubled quote
					j++
					continue
				}
				break
			}
			if c == '\'' && strings.Contains(q[i:j], `\`) {
				return nil, false // backslashes: the dialects differ
			}
			out = append(out, sqlToken{text: q[i:j]})
			i = j
		case c == ';' || c == '$' || c == '`' || c == '\\' || c >= 0x80:
			return nil, false
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '/' && i+1 < len(q) && q[i+1] == '*':
			return nil, false // comments
		default:
			if c == '(' {
				depth++
			} else if c == ')' {
				if depth--; depth < 0 {
					return nil, false
				}
			}
			out = append(out, sqlToken{text: string(c)})
			i++
		}
	}
	return out, depth == 0
}

// Words that may not stand outside parentheses in a grouped query: they
// would group, order, cut, combine, de-duplicate, join or window rows.
var groupedRefused = map[string]bool{
	"select": true, "from": true, "with": true, "group": true, "having": true, "order": true,
	"limit": true, "offset": true, "fetch": true, "union": true, "intersect": true, "except": true,
	"distinct": true, "all": true, "on": true, "over": true, "window": true, "qualify": true,
	"join": true, "natural": true, "cross": true, "lateral": true, "using": true, "sample": true,
	"tablesample": true, "into": true, "values": true, "returning": true, "for": true,
	"pivot": true, "unpivot": true, "table": true,
}

// Names a grouped query may not use anywhere: due is the LATERAL join's
// entity, visible to the query there (so is its column entity_id, if the
// query names it unqualified); the grouped statement has its own column.
var groupedNames = map[string]bool{"due": true, "entity_id": true, GroupedEntity: true}

var groupedAggregates = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "avg": true}

// GroupedForm reports whether q is SELECT <expr> AS value FROM base
// [WHERE <cond>] with an aggregate call at the top level of expr, and if
// so returns the text after its first word: "<expr> AS value FROM ...".
func GroupedForm(q string) (rest string, ok bool) {
	toks, ok := tokenize(q)
	if !ok || len(toks) < 6 || !toks[0].word || toks[0].text != "select" {
		return "", false
	}
	from := -1
	aggregate := false
	depth := 0
	subquery := []bool{} // per open parenthesis: whether it is a subquery
	inSubquery := 0      // how many of those are
	for i, t := range toks {
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1].text
		}
		prev := ""
		if i > 0 {
			prev = toks[i-1].text
		}
		switch t.text {
		case "(":
			sub := next == "select" || next == "with" || next == "from" || next == "values" || next == "table"
			subquery = append(subquery, sub)
			if sub {
				inSubquery++
			}
			depth++
			continue
		case ")":
			if subquery[len(subquery)-1] {
				inSubquery--
			}
			subquery = subquery[:len(subquery)-1]
			depth--
			continue
		}
		if !t.word {
			if depth == 0 && t.text == "," {
				return "", false
			}
			continue
		}
		if groupedNames[t.text] && prev != "." {
			return "", false
		}
		if t.text == "base" && prev != "." {
			// base as the FROM item, or as a qualifier outside subqueries.
			if inSubquery > 0 || !(depth == 0 && i == from+1 && from > 0 || next == ".") {
				return "", false
			}
		}
		if depth > 0 || i == 0 {
			continue
		}
		if t.text == "from" && from < 0 {
			from = i
			continue
		}
		if groupedRefused[t.text] {
			return "", false
		}
		if from < 0 && groupedAggregates[t.text] && next == "(" && prev != "." {
			aggregate = true
		}
	}
	// A FROM with nothing after it ends the query (found by FuzzGrouped).
	if from < 4 || from+1 >= len(toks) || !aggregate || toks[from-2].text != "as" || toks[from-1].text != "value" || toks[from+1].text != "base" {
		return "", false
	}
	if after := toks[from+2:]; len(after) > 0 && (after[0].text != "where" || len(after) == 1) {
		return "", false
	}
	// The text after SELECT, as written.
	s := strings.TrimLeft(q, " \t\r\n")
	return s[len("select"):], true
}

// Grouped rewrites a custom query of GroupedForm, which the caller runs per
// entity in a LATERAL join, as one grouped statement: the events of from
// (the FROM item of the entities' events, with its alias e; entity their
// entity's column) grouped by entity, each of the entities of due given its
// group's value, or the query's value over no events when it has no group.
// typed converts the value's text to the attribute's type. The statement
// selects (entity_id, value TEXT), rows with a NULL value left out.
func Grouped(query, due, from, entity string, typed func(value string) string) (string, bool) {
	rest, ok := GroupedForm(query)
	if !ok {
		return "", false
	}
	cols := "e.id, e.source_id, e.type, e.version, e.event_time, e.payload"
	value := fmt.Sprintf(`CASE WHEN g.%[1]s IS NULL
    THEN (SELECT CAST(z.value AS TEXT) FROM (
      WITH base AS (SELECT %[2]s FROM %[3]s WHERE false)
      %[4]s
    ) z)
    ELSE CAST(g.value AS TEXT) END`, GroupedEntity, cols, from, query)
	return fmt.Sprintf(`SELECT entity_id, CAST(tv AS TEXT) AS value FROM (
  SELECT due.entity_id, %s AS tv
  FROM %s due LEFT JOIN (
    WITH base AS (
      SELECT %s AS %s, %s
      FROM %s
    )
    SELECT %s, %s
    GROUP BY %s
  ) g ON g.%s = due.entity_id
) c WHERE tv IS NOT NULL`, typed(value), due, entity, GroupedEntity, cols, from,
		GroupedEntity, rest, GroupedEntity, GroupedEntity), true
}

// SingleRow reports whether q is of GroupedForm with no set-returning call
// anywhere, so that SQL answers it with exactly one row per entity.
func SingleRow(q string) bool {
	if _, ok := GroupedForm(q); !ok {
		return false
	}
	toks, _ := tokenize(q)
	for _, t := range toks {
		if t.word && setReturning[t.text] {
			return false
		}
	}
	return true
}

// setReturning are the set-returning functions that may stand beside an
// aggregate and multiply its one row.
var setReturning = map[string]bool{"unnest": true, "generate_series": true, "generate_subscripts": true,
	"jsonb_array_elements": true, "json_array_elements": true, "jsonb_array_elements_text": true,
	"json_array_elements_text": true, "jsonb_each": true, "json_each": true, "jsonb_each_text": true,
	"json_each_text": true, "jsonb_object_keys": true, "json_object_keys": true, "regexp_matches": true,
	"regexp_split_to_table": true, "string_to_table": true, "range": true}
