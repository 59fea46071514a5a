package object

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Page sizes of List.
const (
	FirstDefault = 100
	FirstMax     = 1000
)

// InputError is a bad List parameter: the caller's mistake.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// ListParams select a page of records.
type ListParams struct {
	// First is the page size, 0 to FirstMax.
	First int
	// After is the cursor of the record the page starts after (empty:
	// from the start).
	After string
	// Equal filters on primary fields: field name to value.
	Equal map[string]string
}

// Page is a page of records in primary key order.
type Page struct {
	Records     []Record
	HasNextPage bool
	// EndCursor is the cursor of the last record, empty when there are
	// none.
	EndCursor string
}

// Record is a stored record: its type's fields in declaration order, null
// where unset.
type Record struct {
	t      *table
	values []any
	cursor string
}

// Get returns a field's value: string, float64, time.Time, bool, or nil.
func (r Record) Get(field string) any {
	if j, ok := r.t.index[field]; ok {
		return r.values[j]
	}
	return nil
}

// Cursor is the record's position, for After.
func (r Record) Cursor() string { return r.cursor }

// MarshalJSON writes the fields in declaration order; timestamps in
// RFC 3339 with microseconds, UTC.
func (r Record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for j, f := range r.t.Fields {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(f.Name))
		b.WriteByte(':')
		v, err := json.Marshal(jsonValue(r.values[j]))
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonValue is a stored value as JSON shows it.
func jsonValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	}
	return v
}

// cursorBody is what a cursor encodes: the type and the key.
type cursorBody struct {
	Type string   `json:"t"`
	Key  []string `json:"k"`
}

func (t *table) cursor(key []string) string {
	b, err := json.Marshal(cursorBody{Type: t.Name, Key: key})
	if err != nil {
		panic(err) // strings only
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (t *table) decodeCursor(s string) ([]string, error) {
	var c cursorBody
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Type != t.Name || len(c.Key) != len(t.primary) {
		return nil, inputErrorf("after %q is not a cursor of %s: pass an end cursor or edge cursor from an earlier page", s, t.Name)
	}
	return c.Key, nil
}

// List returns a page of a type's records in primary key order (the
// database's collation of the key's strings).
func (s *Store) List(ctx context.Context, objectType string, p ListParams) (*Page, error) {
	t, err := s.table(ctx, objectType)
	if err != nil {
		return nil, err
	}
	if p.First < 0 || p.First > FirstMax {
		return nil, inputErrorf("first must be from 0 to %d, got %d", FirstMax, p.First)
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	filters := make([]string, 0, len(p.Equal))
	for name := range p.Equal {
		filters = append(filters, name)
	}
	slices.Sort(filters)
	for _, name := range filters {
		j, ok := t.index[name]
		if !ok || !t.Fields[j].Primary {
			return nil, inputErrorf("%s is not a primary field of %s: filters are on the primary fields (%s)", name, t.Name, t.primaryList())
		}
		v := strings.TrimSpace(p.Equal[name])
		if v == "" {
			return nil, inputErrorf("the filter on %s is empty", name)
		}
		where = append(where, ident(name)+" = "+arg(v))
	}
	if p.After != "" {
		key, err := t.decodeCursor(p.After)
		if err != nil {
			return nil, err
		}
		where = append(where, t.after(key, arg))
	}
	var q strings.Builder
	q.WriteString("SELECT ")
	q.WriteString(joinIdents(t.fieldNames()))
	q.WriteString(" FROM " + tableName(t.Name))
	if len(where) > 0 {
		q.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	q.WriteString(" ORDER BY " + joinIdents(t.primaryNames()))
	q.WriteString(" LIMIT " + arg(p.First+1))
	return s.page(ctx, t, q.String(), args, p.First)
}

// after is the keyset condition "key > cursor key", spelled out column by
// column: (a > x) OR (a = x AND b > y) ...
func (t *table) after(key []string, arg func(any) string) string {
	var or []string
	for k := range t.primary {
		var and []string
		for m := 0; m < k; m++ {
			and = append(and, ident(t.Fields[t.primary[m]].Name)+" = "+arg(key[m]))
		}
		and = append(and, ident(t.Fields[t.primary[k]].Name)+" > "+arg(key[k]))
		or = append(or, "("+strings.Join(and, " AND ")+")")
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

func (s *Store) page(ctx context.Context, t *table, query string, args []any, first int) (*Page, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.Name, err)
	}
	defer rows.Close()
	page := &Page{Records: []Record{}}
	for rows.Next() {
		if len(page.Records) == first {
			page.HasNextPage = true
			break
		}
		rec, err := t.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t.Name, err)
		}
		page.Records = append(page.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", t.Name, err)
	}
	if n := len(page.Records); n > 0 {
		page.EndCursor = page.Records[n-1].cursor
	}
	return page, nil
}

func (t *table) scan(rows *sql.Rows) (Record, error) {
	dest := make([]any, len(t.Fields))
	for j, f := range t.Fields {
		switch f.Type {
		case FieldString:
			dest[j] = new(sql.NullString)
		case FieldNumber:
			dest[j] = new(sql.NullFloat64)
		case FieldTimestamp:
			dest[j] = new(sql.NullTime)
		case FieldBoolean:
			dest[j] = new(sql.NullBool)
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return Record{}, err
	}
	rec := Record{t: t, values: make([]any, len(t.Fields))}
	for j, d := range dest {
		switch d := d.(type) {
		case *sql.NullString:
			if d.Valid {
				rec.values[j] = d.String
			}
		case *sql.NullFloat64:
			if d.Valid {
				rec.values[j] = d.Float64
			}
		case *sql.NullTime:
			if d.Valid {
				rec.values[j] = d.Time.UTC()
			}
		case *sql.NullBool:
			if d.Valid {
				rec.values[j] = d.Bool
			}
		}
	}
	key := make([]string, len(t.primary))
	for k, j := range t.primary {
		key[k], _ = rec.values[j].(string)
	}
	rec.cursor = t.cursor(key)
	return rec, nil
}

func (t *table) fieldNames() []string {
	out := make([]string, len(t.Fields))
	for j, f := range t.Fields {
		out[j] = f.Name
	}
	return out
}

func (t *table) primaryNames() []string {
	out := make([]string, len(t.primary))
	for k, j := range t.primary {
		out[k] = t.Fields[j].Name
	}
	return out
}

func (t *table) primaryList() string { return strings.Join(t.primaryNames(), ", ") }
