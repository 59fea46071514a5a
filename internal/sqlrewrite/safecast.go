package sqlrewrite

import "strings"

// A cast written by the user in an attribute's expression, such as
// (payload->>'total')::numeric, fails the whole statement on one value that
// does not convert ("12,50"). SafeCasts rewrites each cast x::type and
// CAST(x AS type) into a form that gives NULL instead, chosen by the
// backend (DuckDB's TRY_CAST, a function on PostgreSQL), and returns for
// each rewritten cast the condition under which it failed: its operand is
// not NULL and its result is.

// castAtom is a piece of the rewritten text: a word, a literal, a
// parenthesised or bracketed group (rewritten inside), a cast, or one
// character of punctuation, with the whitespace and comments before it.
type castAtom struct {
	lead, text string
	kind       byte // 'w' word, 'l' literal, '(' group, '[' subscript, 'c' cast, 'p' punctuation
}

// castScanner reads an expression left to right.
type castScanner struct {
	s       string
	i       int
	safe    func(operand, typ string) (string, bool)
	failed  []string
	changed bool
	bad     bool
}

// SafeCasts rewrites the casts of expr whose target type safe accepts,
// safe(operand, type) giving their safe form, and returns the rewritten
// expression and one condition per rewritten cast that is true where its
// value did not convert. Text it does not read with certainty (unbalanced
// parentheses or quotes, a type it cannot read) is returned as written,
// with no conditions.
func SafeCasts(expr string, safe func(operand, typ string) (string, bool)) (string, []string) {
	sc := &castScanner{s: expr, safe: safe}
	atoms := sc.atoms(0)
	tail := sc.trivia()
	if sc.bad || sc.i < len(expr) || !sc.changed {
		return expr, nil
	}
	return join(atoms) + tail, sc.failed
}

func join(atoms []castAtom) string {
	var b strings.Builder
	for _, a := range atoms {
		b.WriteString(a.lead)
		b.WriteString(a.text)
	}
	return b.String()
}

// trivia consumes whitespace and comments.
func (sc *castScanner) trivia() string {
	start := sc.i
	for sc.i < len(sc.s) {
		c := sc.s[sc.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			sc.i++
		case strings.HasPrefix(sc.s[sc.i:], "--"):
			if k := strings.IndexByte(sc.s[sc.i:], '\n'); k >= 0 {
				sc.i += k + 1
			} else {
				sc.i = len(sc.s)
			}
		case strings.HasPrefix(sc.s[sc.i:], "/*"):
			k := strings.Index(sc.s[sc.i+2:], "*/")
			if k < 0 || strings.Contains(sc.s[sc.i+2:sc.i+2+k], "/*") {
				sc.bad = true // unterminated or nested: not read with certainty
				sc.i = len(sc.s)
				return sc.s[start:]
			}
			sc.i += k + 4
		default:
			return sc.s[start:sc.i]
		}
	}
	return sc.s[start:sc.i]
}

// atoms reads atoms up to the closing bracket (close) or the end.
func (sc *castScanner) atoms(close byte) []castAtom {
	var out []castAtom
	for !sc.bad {
		save := sc.i
		lead := sc.trivia()
		if sc.i >= len(sc.s) {
			sc.i = save
			if close != 0 {
				sc.bad = true
			}
			return out
		}
		c := sc.s[sc.i]
		switch {
		case c == close:
			sc.i = save // the caller reads the trivia and the bracket
			return out
		case c == ')' || c == ']':
			sc.bad = true
			return out
		case c == '(' || c == '[':
			sc.i++
			inner := sc.atoms(map[byte]byte{'(': ')', '[': ']'}[c])
			tail := sc.trivia()
			if sc.bad || sc.i >= len(sc.s) {
				sc.bad = true
				return out
			}
			sc.i++
			a := castAtom{lead: lead, kind: c}
			if c == '(' && len(out) > 0 && out[len(out)-1].kind == 'w' && strings.EqualFold(out[len(out)-1].text, "cast") {
				if cast, ok := sc.castCall(inner, tail); ok {
					prev := out[len(out)-1]
					out[len(out)-1] = castAtom{lead: prev.lead, text: cast, kind: 'c'}
					continue
				}
			}
			a.text = string(c) + join(inner) + tail + string(sc.s[sc.i-1])
			out = append(out, a)
		case c == ':' && strings.HasPrefix(sc.s[sc.i:], "::"):
			sc.i += 2
			out = sc.castOperator(out, lead)
		case c == '\'' || c == '"':
			j := sc.i + 1
			for {
				k := strings.IndexByte(sc.s[j:], c)
				if k < 0 {
					sc.bad = true
					return out
				}
				j += k + 1
				if j < len(sc.s) && sc.s[j] == c {
					j++
					continue
				}
				break
			}
			kind := byte('l')
			if c == '"' {
				kind = 'w'
			} else if strings.Contains(sc.s[sc.i:j], `\`) || lead == "" && len(out) > 0 && out[len(out)-1].kind == 'w' {
				sc.bad = true // backslash escapes or a prefix (E'...'): the dialects differ
				return out
			}
			out = append(out, castAtom{lead: lead, text: sc.s[sc.i:j], kind: kind})
			sc.i = j
		case c == '$':
			sc.bad = true // dollar quotes and parameters are not read here
			return out
		case isLetter(c) || c == '_' || c >= 0x80:
			j := sc.i
			for j < len(sc.s) && (isLetter(sc.s[j]) || sc.s[j] == '_' || sc.s[j] >= '0' && sc.s[j] <= '9' || sc.s[j] >= 0x80 || sc.s[j] == '$') {
				j++
			}
			out = append(out, castAtom{lead: lead, text: sc.s[sc.i:j], kind: 'w'})
			sc.i = j
		case c >= '0' && c <= '9' || c == '.' && sc.i+1 < len(sc.s) && sc.s[sc.i+1] >= '0' && sc.s[sc.i+1] <= '9':
			j := sc.i
			for j < len(sc.s) && (sc.s[j] >= '0' && sc.s[j] <= '9' || sc.s[j] == '.' || isLetter(sc.s[j]) || sc.s[j] == '_' ||
				(sc.s[j] == '+' || sc.s[j] == '-') && (sc.s[j-1] == 'e' || sc.s[j-1] == 'E')) {
				j++
			}
			out = append(out, castAtom{lead: lead, text: sc.s[sc.i:j], kind: 'l'})
			sc.i = j
		default:
			out = append(out, castAtom{lead: lead, text: string(c), kind: 'p'})
			sc.i++
		}
	}
	return out
}

// castKeywords are words that may stand before a parenthesis without
// calling a function, or before :: without being its operand (CASE ...
// END::int is not read here).
var castKeywords = map[string]bool{"and": true, "or": true, "not": true, "in": true, "is": true, "when": true,
	"then": true, "else": true, "case": true, "select": true, "where": true, "as": true, "on": true, "from": true,
	"exists": true, "any": true, "all": true, "some": true, "between": true, "like": true, "ilike": true,
	"return": true, "end": true, "distinct": true, "by": true, "with": true, "over": true, "filter": true, "within": true}

// castOperator turns the operand at the end of out and the type after ::
// into one cast atom.
func (sc *castScanner) castOperator(out []castAtom, lead string) []castAtom {
	k := len(out) - 1
	if k < 0 || out[k].kind == 'p' || out[k].kind == 'w' && castKeywords[strings.ToLower(out[k].text)] {
		sc.bad = true
		return out
	}
	// A call, a subscript or a qualified name binds tighter than ::.
	for k > 0 {
		prev, cur := out[k-1], out[k]
		switch {
		case (cur.kind == '(' || cur.kind == '[') && cur.lead == "" && (prev.kind == 'w' && !castKeywords[strings.ToLower(prev.text)] || prev.kind == '[' || prev.kind == '(' && cur.kind == '[' || prev.kind == 'c' && cur.kind == '['):
			k--
			continue
		case cur.kind == 'w' && cur.lead == "" && prev.kind == 'p' && prev.text == "." && prev.lead == "" && k >= 2:
			k -= 2
			continue
		}
		break
	}
	operand := strings.TrimSpace(join(out[k:]))
	typ, ok := sc.typeName()
	if !ok {
		sc.bad = true
		return out
	}
	first := out[k].lead
	text := operand + lead + "::" + typ
	if safe, ok := sc.safe(operand, typ); ok {
		text = safe
		sc.changed = true
		sc.failed = append(sc.failed, "(("+operand+") IS NOT NULL AND ("+safe+") IS NULL)")
	}
	return append(out[:k], castAtom{lead: first, text: text, kind: 'c'})
}

// castCall rewrites the inside of CAST( ... ) when safe accepts its type.
func (sc *castScanner) castCall(inner []castAtom, tail string) (string, bool) {
	as := -1
	for i, a := range inner {
		if a.kind == 'w' && strings.EqualFold(a.text, "as") {
			as = i
		}
	}
	if as <= 0 || as == len(inner)-1 {
		return "", false
	}
	operand := strings.TrimSpace(join(inner[:as]))
	typ := strings.TrimSpace(join(inner[as+1:]) + tail)
	if strings.Contains(typ, "--") || strings.Contains(typ, "/*") {
		return "", false
	}
	safe, ok := sc.safe(operand, typ)
	if !ok {
		return "CAST(" + join(inner) + tail + ")", true
	}
	sc.changed = true
	sc.failed = append(sc.failed, "(("+operand+") IS NOT NULL AND ("+safe+") IS NULL)")
	return safe, true
}

// multiWord are the type names of several words, by their first.
var multiWord = map[string][]string{
	"double":    {"precision"},
	"character": {"varying"},
	"timestamp": {"with time zone", "without time zone"},
	"time":      {"with time zone", "without time zone"},
}

// typeName reads the type after ::: a name of one or more words, a
// modifier in parentheses and array brackets.
func (sc *castScanner) typeName() (string, bool) {
	sc.trivia()
	start := sc.i
	j := sc.i
	for j < len(sc.s) && (isLetter(sc.s[j]) || sc.s[j] == '_' || sc.s[j] >= '0' && sc.s[j] <= '9' || sc.s[j] == '.') {
		j++
	}
	if j == start || !isLetter(sc.s[start]) && sc.s[start] != '_' {
		return "", false
	}
	sc.i = j
	for _, more := range multiWord[strings.ToLower(sc.s[start:j])] {
		if n, ok := words(sc.s[sc.i:], strings.Fields(more)); ok {
			sc.i += n
			break
		}
	}
	end := sc.i
	// A modifier and array brackets follow without a space.
	for sc.i < len(sc.s) && (sc.s[sc.i] == '(' || sc.s[sc.i] == '[') {
		closer := map[byte]byte{'(': ')', '[': ']'}[sc.s[sc.i]]
		k := strings.IndexByte(sc.s[sc.i:], closer)
		if k < 0 {
			return "", false
		}
		body := sc.s[sc.i+1 : sc.i+k]
		if strings.ContainsAny(body, "()[]'\"-/") {
			return "", false
		}
		sc.i += k + 1
		end = sc.i
	}
	return sc.s[start:end], true
}

// CastFamily is the family of a cast's target type that a safe cast
// handles: numeric, integer, float, boolean, date, timestamp or
// timestamptz; "" for any other type, whose casts are left as written.
func CastFamily(typ string) string {
	t := strings.ToLower(strings.Join(strings.Fields(typ), " "))
	if strings.Contains(t, "[") {
		return ""
	}
	if k := strings.IndexByte(t, '('); k >= 0 {
		t = strings.TrimSpace(t[:k])
	}
	t = strings.TrimPrefix(t, "pg_catalog.")
	switch t {
	case "numeric", "decimal":
		return "numeric"
	case "int", "integer", "int2", "int4", "int8", "smallint", "bigint", "hugeint", "tinyint":
		return "integer"
	case "real", "float", "float4", "float8", "double", "double precision":
		return "float"
	case "bool", "boolean":
		return "boolean"
	case "date":
		return "date"
	case "timestamp", "timestamp without time zone", "datetime":
		return "timestamp"
	case "timestamptz", "timestamp with time zone":
		return "timestamptz"
	}
	return ""
}

// words reports how many bytes of s the words take, each after
// whitespace, or false when s does not start with them.
func words(s string, ws []string) (int, bool) {
	n := 0
	for _, w := range ws {
		t := strings.TrimLeft(s[n:], " \t\r\n")
		if len(t) == len(s[n:]) || len(t) < len(w) || !strings.EqualFold(t[:len(w)], w) ||
			len(t) > len(w) && (isLetter(t[len(w)]) || t[len(w)] == '_') {
			return 0, false
		}
		n = len(s) - len(t) + len(w)
	}
	return n, true
}
