package store

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

//go:embed query/*.sql
var sharedQueries embed.FS

// queries maps a query name to its SQL.
type queries map[string]string

// loadQueries reads the shared queries, then lets overrides replace some.
// An override of a name that has no shared query is an error: it would
// silently never run.
func loadQueries(overrides fs.FS) (queries, error) {
	q := queries{}
	if err := q.addDir(sharedQueries, "query", false); err != nil {
		return nil, err
	}
	if overrides != nil {
		if err := q.addDir(overrides, "query", true); err != nil {
			return nil, err
		}
	}
	return q, nil
}

func (q queries) addDir(fsys fs.FS, dir string, override bool) error {
	files, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		parsed, err := parseQueries(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for name, sql := range parsed {
			_, exists := q[name]
			switch {
			case override && !exists:
				return fmt.Errorf("%s: override %q has no shared query", f, name)
			case !override && exists:
				return fmt.Errorf("%s: query %q defined twice", f, name)
			}
			q[name] = sql
		}
	}
	return nil
}

// parseQueries splits a file at "-- name: X" lines.
func parseQueries(data []byte) (map[string]string, error) {
	out := map[string]string{}
	var name string
	var body strings.Builder
	flush := func() {
		if name != "" {
			out[name] = strings.TrimSpace(body.String())
		}
		body.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			flush()
			name = strings.TrimSpace(n)
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("query %q defined twice", name)
			}
			continue
		}
		if name != "" {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	flush()
	return out, sc.Err()
}

// keyMark is the mark of a narrowing by entity key in a shared query:
// /*key COLUMN = $N*/ before a comparison of the entity id with one id,
// /*key COLUMN IN $N[]*/ before one with the ids of an array.
var keyMark = regexp.MustCompile(`/\*key (\S+) (=|IN) \$(\d+)(\[\])?\*/`)

// narrowByKeys writes the marks out where the backend has entity keys
// (Capabilities.EntityKeyOf): the key column compared with the keys of the
// ids, and AND, so that a scan compares integers before it compares the
// 32-character ids of every row. Where it has none the marks are left as
// the comments they are.
func (q queries) narrowByKeys(keyOf func(expr string) string) {
	if keyOf("x") == "" {
		return
	}
	for name, sql := range q {
		q[name] = keyMark.ReplaceAllStringFunc(sql, func(m string) string {
			p := keyMark.FindStringSubmatch(m)
			col, param := p[1], "$"+p[3]
			if p[4] == "" {
				return col + " = " + keyOf("CAST("+param+" AS TEXT)") + " AND"
			}
			return col + " IN (SELECT " + keyOf("x") + " FROM unnest(CAST(" + param + " AS TEXT[])) AS ids(x)) AND"
		})
	}
}

// get returns the named query; a missing one is a programming error.
func (q queries) get(name string) string {
	s, ok := q[name]
	if !ok {
		panic("store: no query named " + name)
	}
	return s
}
