package erasure

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
)

// The ingest drop's common case is a batch that carries no suppressed
// identifier. Running the stitching rules over every staged batch in SQL
// (parsing each payload once per rule, hashing every value) costs as much
// as a good part of the append itself, so the Suppressor first checks the
// batch in Go, against the list kept in memory: each rule whose value
// expression is one of a few plain forms (payload->>'key', a path of ->
// keys ending in ->>, lower(), trim(), coalesce() of those) is evaluated
// on the payload, exactly as the database would; a batch where every
// applicable rule could be evaluated and no value hashes into the list
// appends without running the rules in SQL. Whenever the Go evaluation is
// not certain to equal the database's (a non-string value, a non-ASCII
// value under lower or trim, duplicate keys, a rule of another form, a
// database whose lower() is not ASCII's) the batch takes the SQL path, which
// is the authority.

// valueExpr is a rule's value expression in a form evaluated in Go.
type valueExpr interface {
	// eval returns the value for a payload, null when SQL gives NULL,
	// and exact false when Go cannot be sure to give what SQL gives.
	eval(payload []byte, asciiLower bool) (value string, null, exact bool)
}

// pathExpr is payload->'k1'->...->>'kn'.
type pathExpr []string

// funcExpr is lower(arg) or trim(arg).
type funcExpr struct {
	name string
	arg  valueExpr
}

// coalesceExpr is coalesce(args...).
type coalesceExpr []valueExpr

// goRule is a stitching rule as the prefilter evaluates it.
type goRule struct {
	category string
	source   string
	typ      string // "*": any
	version  string // "": any
	expr     valueExpr
}

// compileRules turns the rules into goRules; a rule whose expression is of
// no known form gets a nil expr (its events take the SQL path).
func compileRules(rules stitch.Config) []goRule {
	out := make([]goRule, 0, len(rules.Rules))
	for _, r := range rules.Rules {
		parts := strings.Split(r.Event, "/")
		g := goRule{category: r.Identifier, source: parts[0], typ: "*"}
		if len(parts) > 1 {
			g.typ = parts[1]
		}
		if len(parts) > 2 {
			g.version = parts[2]
		}
		if e, ok := parseValueExpr(r.ValueExpression); ok {
			g.expr = e
		}
		out = append(out, g)
	}
	return out
}

func (g *goRule) applies(k store.EventTypeKey) bool {
	return k.SourceID == g.source && (g.typ == "*" || k.Type == g.typ) && (g.version == "" || k.Version == g.version)
}

// parseValueExpr reads the forms valueExpr knows; false for any other.
func parseValueExpr(s string) (valueExpr, bool) {
	s = strings.TrimSpace(s)
	if inner, ok := call(s, ""); ok { // (expr)
		return parseValueExpr(inner)
	}
	for _, name := range []string{"lower", "trim"} {
		if inner, ok := call(s, name); ok {
			arg, ok := parseValueExpr(inner)
			return funcExpr{name, arg}, ok
		}
	}
	if inner, ok := call(s, "coalesce"); ok {
		var args coalesceExpr
		for _, a := range splitArgs(inner) {
			e, ok := parseValueExpr(a)
			if !ok {
				return nil, false
			}
			args = append(args, e)
		}
		return args, len(args) > 0
	}
	return parsePath(s)
}

// call returns the argument text of name(...) when s is exactly that call.
func call(s, name string) (string, bool) {
	if len(s) < len(name)+2 || !strings.EqualFold(s[:len(name)], name) {
		return "", false
	}
	rest := strings.TrimLeft(s[len(name):], " \t\n")
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return "", false
	}
	// The opening parenthesis must close at the end, outside quotes.
	closed := true
	balanced := scan(rest, func(i int, c byte, depth int) {
		if c == ')' && depth == 0 && i != len(rest)-1 {
			closed = false
		}
	})
	return rest[1 : len(rest)-1], closed && balanced
}

// splitArgs splits a call's arguments at top-level commas.
func splitArgs(s string) []string {
	var out []string
	start := 0
	scan(s, func(i int, c byte, depth int) {
		if c == ',' && depth == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	})
	return append(out, s[start:])
}

// scan calls visit with each byte of s outside quoted strings and the
// parenthesis depth after it; it says whether s ends balanced.
func scan(s string, visit func(i int, c byte, depth int)) bool {
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
			visit(i, c, depth)
		default:
			visit(i, c, depth)
		}
	}
	return depth == 0 && !quoted
}

// parsePath reads payload->'a'->>'b' (spaces allowed around arrows).
func parsePath(s string) (valueExpr, bool) {
	rest, ok := strings.CutPrefix(s, "payload")
	if !ok {
		return nil, false
	}
	var keys pathExpr
	for {
		rest = strings.TrimLeft(rest, " \t\n")
		last := strings.HasPrefix(rest, "->>")
		if !last && !strings.HasPrefix(rest, "->") {
			return nil, false
		}
		rest = strings.TrimLeft(strings.TrimLeft(rest, "->"), " \t\n")
		if !strings.HasPrefix(rest, "'") {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '\'')
		if end < 0 {
			return nil, false
		}
		keys = append(keys, rest[1:1+end])
		rest = rest[2+end:]
		if strings.HasPrefix(rest, "'") { // '' inside a key
			return nil, false
		}
		if last {
			return keys, strings.TrimSpace(rest) == ""
		}
	}
}

func (p pathExpr) eval(payload []byte, _ bool) (string, bool, bool) {
	v := payload
	for _, k := range p {
		field, found, exact := objectField(v, k)
		if !exact {
			return "", false, false
		}
		if !found {
			return "", true, true
		}
		v = field
	}
	switch {
	case bytes.Equal(v, []byte("null")):
		return "", true, true
	case len(v) > 0 && v[0] == '"':
		s, ok := jsonString(v)
		return s, false, ok
	}
	return "", false, false // a number, boolean, object or array: its text differs by engine
}

func (f funcExpr) eval(payload []byte, asciiLower bool) (string, bool, bool) {
	v, null, exact := f.arg.eval(payload, asciiLower)
	if null || !exact {
		return v, null, exact
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return "", false, false // Unicode case and white space differ by engine and locale
		}
	}
	if f.name == "lower" {
		return strings.ToLower(v), false, asciiLower
	}
	t := strings.Trim(v, " ")
	if t != "" && strings.ContainsAny(t[:1]+t[len(t)-1:], "\t\n\v\f\r") {
		return "", false, false // DuckDB trims these too, PostgreSQL does not
	}
	return t, false, true
}

func (c coalesceExpr) eval(payload []byte, asciiLower bool) (string, bool, bool) {
	for _, a := range c {
		v, null, exact := a.eval(payload, asciiLower)
		if !exact || !null {
			return v, null, exact
		}
	}
	return "", true, true
}

// objectField finds key among the members of the JSON object obj. Not an
// object (or a missing key) is not found, as for SQL's -> and ->>; a key
// present twice is not exact (the engines keep different ones).
func objectField(obj []byte, key string) (field []byte, found, exact bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false, true
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return field, found, true
		}
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		end := skipString(obj, i)
		if end < 0 {
			return nil, false, false
		}
		match, ok := keyIs(obj[i:end], key)
		if !ok {
			return nil, false, false
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false, false
		}
		i = skipSpace(obj, i+1)
		vend := skipValue(obj, i)
		if vend < 0 {
			return nil, false, false
		}
		if match {
			if found {
				return nil, false, false
			}
			field, found = obj[i:vend], true
		}
		i = vend
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the JSON string at b[i], or -1.
func skipString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the end of the JSON value at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// keyIs says whether the JSON string literal raw is key, and whether raw
// is a valid literal. Without escapes (member names nearly always) it
// compares the bytes in place: decoding every member name of every
// payload into a new string cost the ingest check most of its garbage.
func keyIs(raw []byte, key string) (match, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false, false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == key, true
	}
	name, ok := jsonString(raw)
	return ok && name == key, ok
}

// jsonString decodes a JSON string literal.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}
