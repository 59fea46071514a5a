package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// SQL written in the config (stitching value expressions, attribute
// expressions and custom queries, context queries) reads customer data
// only. Two layers keep it to that:
//
//   - at apply, CheckConfigSQL refuses, with a message naming what it
//     found, what such SQL has no business doing: a second statement,
//     statements that write or reach outside the database, and the
//     functions that read files, run SQL text, change the session or
//     write sequences;
//   - when it runs, the engine confines it whatever it holds (a backend's
//     ConfineConfigSQL): DuckDB is opened with external access off and its
//     configuration locked, for every statement; PostgreSQL runs it as a
//     restricted role, in a read-only transaction where it only reads.
//
// The first layer gives precise errors before anything runs; the second
// is the boundary (a function name the list misses still meets the
// engine's refusal).

// ErrConfigSQL is SQL from the config that does more than read customer
// data; the *ConfigSQLError wrapping it says what.
var ErrConfigSQL = errors.New("SQL in the config reads customer data only")

// ConfigSQLError says what CheckConfigSQL refused.
type ConfigSQLError struct {
	// What is the construct, as found: "read_text(", "DELETE", "';'".
	What string
	// Why says what it would have done.
	Why string
}

func (e *ConfigSQLError) Error() string {
	return fmt.Sprintf("%s %s: %s is not allowed", ErrConfigSQL.Error(), e.Why, e.What)
}

func (e *ConfigSQLError) Unwrap() error { return ErrConfigSQL }

// refusedFunctions are functions config SQL may not call, by what they do.
// A name matches when it is called: followed by "(", whatever its schema.
var refusedFunctions = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`^(read_(text|blob|csv|csv_auto|json|json_auto|json_objects|json_objects_auto|ndjson|ndjson_auto|ndjson_objects|parquet|xlsx)|parquet_(scan|metadata|schema|file_metadata|kv_metadata)|sniff_csv|glob|(iceberg|delta|sqlite|postgres|mysql)_scan|pg_read_file|pg_read_binary_file|pg_ls_\w*|pg_stat_file|lo_import|lo_export|lo_get|lo_open|getenv)$`),
		"(it would read the server's files or environment)"},
	{regexp.MustCompile(`^(query|query_table|\w*_to_xml\w*|ts_stat|dblink\w*)$`),
		"(it would run SQL text that the checks cannot see)"},
	{regexp.MustCompile(`^(set_config|setval|nextval|pg_(try_)?advisory_\w+|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_switch_wal|pg_create_\w+|pg_drop_\w+|pg_notify|pg_sleep\w*|lo_\w+)$`),
		"(it would change the session, a sequence or the server)"},
}

// refusedKeywords start statements that write or reach outside the
// database; none has a place in an expression or a query that reads.
var refusedKeywords = map[string]bool{
	"insert": true, "update": true, "delete": true, "merge": true, "upsert": true,
	"drop": true, "create": true, "alter": true, "truncate": true, "copy": true,
	"attach": true, "detach": true, "install": true, "grant": true, "revoke": true,
	"vacuum": true, "checkpoint": true, "pragma": true, "export": true,
}

// CheckConfigSQL refuses SQL from the config that does more than read
// customer data (see ErrConfigSQL): a ';', a statement keyword that
// writes or reaches outside, a refused function called, a Unicode-escaped
// identifier (which could spell a refused name). String literals,
// quoted identifiers' quotes and comments are read as SQL reads them, so
// payload->>'query' is fine and glob( is not. It runs at apply, once per
// expression: never per row.
func CheckConfigSQL(sql string) error {
	toks, err := tokens(sql)
	if err != nil {
		return err
	}
	for i, t := range toks {
		switch {
		case t.kind == tokSemicolon:
			return &ConfigSQLError{What: "';'", Why: "(it would start a second statement)"}
		case t.kind == tokWord && refusedKeywords[t.text]:
			return &ConfigSQLError{What: strings.ToUpper(t.text), Why: "(it would write or reach outside the database)"}
		case t.kind == tokUnicodeIdent:
			return &ConfigSQLError{What: `U&"..."`, Why: "(a Unicode-escaped identifier could name any function)"}
		}
		if (t.kind == tokWord || t.kind == tokQuoted) && i+1 < len(toks) && toks[i+1].kind == tokOpen {
			for _, f := range refusedFunctions {
				if f.re.MatchString(t.text) {
					return &ConfigSQLError{What: t.text + "()", Why: f.why}
				}
			}
		}
	}
	return nil
}

type tokKind int

const (
	tokWord         tokKind = iota // an unquoted identifier or keyword, lower case
	tokQuoted                      // a "quoted identifier", lower case, without quotes
	tokUnicodeIdent                // U&"..."
	tokOpen                        // (
	tokSemicolon                   // ;
	tokOther                       // anything else, strings and numbers included
)

type token struct {
	kind tokKind
	text string
}

// tokens splits SQL into the tokens CheckConfigSQL looks at; comments and
// white space are dropped, string literals ('...', E'...', $tag$...$tag$)
// become tokOther.
func tokens(s string) ([]token, error) {
	var out []token
	unterminated := func(what string) error {
		return &ConfigSQLError{What: "an unterminated " + what, Why: "(it could hide what follows)"}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return out, nil
			}
			i += end + 1
		case strings.HasPrefix(s[i:], "/*"):
			// Block comments nest in PostgreSQL.
			depth, j := 0, i
			for j < len(s) {
				if strings.HasPrefix(s[j:], "/*") {
					depth, j = depth+1, j+2
				} else if strings.HasPrefix(s[j:], "*/") {
					depth, j = depth-1, j+2
					if depth == 0 {
						break
					}
				} else {
					j++
				}
			}
			if depth != 0 {
				return nil, unterminated("comment")
			}
			i = j
		case c == '\'':
			end, ok := quoted(s, i, '\'', false)
			if !ok {
				return nil, unterminated("string")
			}
			out, i = append(out, token{tokOther, ""}), end
		case (c == 'e' || c == 'E') && i+1 < len(s) && s[i+1] == '\'':
			end, ok := quoted(s, i+1, '\'', true)
			if !ok {
				return nil, unterminated("string")
			}
			out, i = append(out, token{tokOther, ""}), end
		case (c == 'u' || c == 'U') && strings.HasPrefix(s[i+1:], `&"`):
			out, i = append(out, token{tokUnicodeIdent, ""}), i+2
		case c == '"':
			end, ok := quoted(s, i, '"', false)
			if !ok {
				return nil, unterminated("quoted identifier")
			}
			name := strings.ReplaceAll(s[i+1:end-1], `""`, `"`)
			out, i = append(out, token{tokQuoted, strings.ToLower(name)}), end
		case c == '$' && dollarTag(s[i:]) != "":
			tag := dollarTag(s[i:])
			end := strings.Index(s[i+len(tag):], tag)
			if end < 0 {
				return nil, unterminated("dollar-quoted string")
			}
			out, i = append(out, token{tokOther, ""}), i+len(tag)+end+len(tag)
		case c == '(':
			out, i = append(out, token{tokOpen, "("}), i+1
		case c == ';':
			out, i = append(out, token{tokSemicolon, ";"}), i+1
		case isIdentStart(rune(c)):
			j := i + 1
			for j < len(s) && isIdentPart(rune(s[j])) {
				j++
			}
			out, i = append(out, token{tokWord, strings.ToLower(s[i:j])}), j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(s) && (isIdentPart(rune(s[j])) || s[j] == '.') {
				j++
			}
			out, i = append(out, token{tokOther, ""}), j
		default:
			out, i = append(out, token{tokOther, string(c)}), i+1
		}
	}
	return out, nil
}

// quoted returns the index after the literal that opens at s[i] with q,
// where a doubled q stands for itself (and, with backslash, \ escapes).
func quoted(s string, i int, q byte, backslash bool) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslash && s[j] == '\\':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1, true
		}
	}
	return 0, false
}

// dollarTag returns the $tag$ that opens s, or "" (a $1 placeholder is
// no tag).
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] == '$':
			return s[:j+1]
		case !isIdentPart(rune(s[j])) || (j == 1 && s[j] >= '0' && s[j] <= '9'):
			return ""
		}
	}
	return ""
}

func isIdentStart(r rune) bool { return r == '_' || r >= 0x80 || unicode.IsLetter(r) }

func isIdentPart(r rune) bool { return isIdentStart(r) || r == '$' || (r >= '0' && r <= '9') }

// Beginner is an Executor that begins transactions (DB, Conn).
type Beginner interface {
	Executor
	Begin(ctx context.Context) (*Tx, error)
}

// RunConfigSQL runs fn, whose statements hold SQL from the config,
// confined (Capabilities.ConfineConfigSQL): in a transaction of its own,
// committed when fn succeeds (rolled back when readOnly: a read leaves
// nothing behind), or directly on e where the engine confines every
// statement. fn must run its statements on the Executor it is given.
func RunConfigSQL(ctx context.Context, e Beginner, caps Capabilities, readOnly bool, fn func(Executor) error) error {
	confine := caps.ConfineConfigSQL(readOnly)
	if len(confine) == 0 {
		return fn(e)
	}
	tx, err := e.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range confine {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("confine config SQL: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if readOnly {
		return tx.Rollback()
	}
	return tx.Commit()
}

// RunConfigSQLIn runs fn confined inside the transaction tx, and gives tx
// back to Weft's own role after it (Capabilities.UnconfineConfigSQL).
func RunConfigSQLIn(ctx context.Context, tx ExecutorTx, caps Capabilities, fn func() error) error {
	for _, q := range caps.ConfineConfigSQL(false) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("confine config SQL: %w", err)
		}
	}
	if err := fn(); err != nil {
		return err
	}
	for _, q := range caps.UnconfineConfigSQL() {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("end confinement of config SQL: %w", err)
		}
	}
	return nil
}

// Warnings are what the backend found at open that the operator should
// hear of, such as a PostgreSQL login with superuser rights.
func (db *DB) Warnings() []string {
	if w, ok := db.backend.(interface{ Warnings() []string }); ok {
		return w.Warnings()
	}
	return nil
}
