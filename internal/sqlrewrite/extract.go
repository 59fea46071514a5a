package sqlrewrite

import (
	"fmt"
	"slices"
	"strings"
)

// ExtractOnce rewrites column->>'key' in expr (a key of letters, digits
// and _) as a field of weft_json, which the rows read compute with
// ParseOnce: DuckDB then parses each document once instead of once per
// key. keys collects the keys. Which occurrences it rewrites is
// ExtractKeys'.
func ExtractOnce(expr, column string, keys *[]string) string {
	out, _ := ExtractKeys(expr, column, func(key, _ string) (string, bool) {
		n := slices.Index(*keys, key)
		if n < 0 {
			*keys = append(*keys, key)
			n = len(*keys) - 1
		}
		return fmt.Sprintf("(struct_extract_at(weft_json, %d))", n+1), true
	})
	return out
}

// ExtractKeys rewrites each occurrence of column->>'key' in expr (a key of
// letters, digits and _) as what operand returns for its key and the text
// of expr before the occurrence, and reports
// whether operand took every one (false: the first it refused stays as
// written, and so does the rest). Only an occurrence that is a whole
// operand is rewritten: preceded by the start, an opening parenthesis, a
// comma, a comparison or a keyword, and followed by the end, a closing
// parenthesis, a comma, a comparison, || or a keyword; in any other place
// operator precedence might bind it differently, and it stays as written.
// operand's text should be one parenthesised operand for the same reason.
func ExtractKeys(expr, column string, operand func(key, before string) (string, bool)) (string, bool) {
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(expr[i:], column)
		if j < 0 {
			b.WriteString(expr[i:])
			return b.String(), true
		}
		start := i + j
		end, key, ok := jsonKeyAt(expr, start, column)
		if !ok {
			b.WriteString(expr[i : start+len(column)])
			i = start + len(column)
			continue
		}
		op, ok := operand(key, expr[:start])
		if !ok {
			b.WriteString(expr[i:])
			return b.String(), false
		}
		b.WriteString(expr[i:start])
		b.WriteString(op)
		i = end
	}
}

// ParseOnce is the column weft_json that ExtractOnce's rewrites read: a
// struct of the keys' values as text, field n the n-th key. It is
// json_transform to VARCHAR fields, which gives what ->> gives (a string
// unquoted, another value as JSON text, NULL for a missing key or a JSON
// null, keys compared with their case) in a third less time than
// json_extract_string(column, [keys]), which builds a list per row. The
// fields are read by position: a struct's field names ignore case, and
// two keys may differ only in it.
func ParseOnce(column string, keys []string) string {
	fields := make([]string, len(keys))
	for i, k := range keys {
		fields[i] = `"` + k + `":"VARCHAR"` // letters, digits and _ only
	}
	return "json_transform(" + column + ", '{" + strings.Join(fields, ",") + "}') AS weft_json"
}

// IsKey reports whether k is a key ExtractKeys reads in column->>'k':
// letters, digits and _.
func IsKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isIdent(k[i]) {
			return false
		}
	}
	return true
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// jsonKeyAt matches column->>'key' at start and returns where it ends.
func jsonKeyAt(s string, start int, column string) (end int, key string, ok bool) {
	if start > 0 && (isIdent(s[start-1]) || s[start-1] == '.' || s[start-1] == '"') {
		return 0, "", false
	}
	before := strings.TrimRight(s[:start], " \t\n")
	if before != "" && !strings.ContainsRune("(,=<>", rune(before[len(before)-1])) && !isLetter(before[len(before)-1]) {
		return 0, "", false
	}
	rest := strings.TrimLeft(s[start+len(column):], " \t\n")
	if !strings.HasPrefix(rest, "->>") {
		return 0, "", false
	}
	rest = strings.TrimLeft(rest[3:], " \t\n")
	if !strings.HasPrefix(rest, "'") {
		return 0, "", false
	}
	k := 1
	for k < len(rest) && isIdent(rest[k]) {
		k++
	}
	if k == 1 || k >= len(rest) || rest[k] != '\'' {
		return 0, "", false
	}
	key = rest[1:k]
	end = len(s) - len(rest) + k + 1
	after := strings.TrimLeft(s[end:], " \t\n")
	if after != "" && !strings.ContainsRune("),=<>!|", rune(after[0])) && !isLetter(after[0]) {
		return 0, "", false
	}
	return end, key, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
