package object

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/job"
)

var _ job.Objects = (*Store)(nil)

// rowsPerStatementMax bounds the rows of one INSERT, and so the size of
// the JSON document it binds.
const rowsPerStatementMax = 5000

// UpsertResult is what an upsert did.
type UpsertResult struct {
	// Accepted counts the records stored (records repeating a key within
	// the batch count once each).
	Accepted int `json:"accepted"`
	// Rejected are the records refused, by index, in index order.
	Rejected []Rejection `json:"rejected"`
}

// Rejection is a record refused, in the shape POST /v1/events answers.
type Rejection struct {
	Index int    `json:"index"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// Upsert stores records of a type by primary key: a new key inserts, a
// known one updates the fields the record carries and keeps the others.
// Bad records are returned as rejections and the others stored; the error
// is for an unknown type (a *TypeNotFoundError) and store failures, when
// nothing of the batch is stored.
func (s *Store) Upsert(ctx context.Context, objectType string, records []job.Record) ([]job.Rejection, error) {
	res, err := s.upsert(ctx, objectType, len(records), func(i int) (map[string]any, *Rejection) {
		return records[i], nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]job.Rejection, len(res.Rejected))
	for i, r := range res.Rejected {
		out[i] = job.Rejection{Index: r.Index, Field: r.Field, Reason: r.Error}
	}
	return out, nil
}

// UpsertJSON is Upsert of JSON records (each a JSON object; anything else
// is rejected), as POST /v1/objects/{type} sends them.
func (s *Store) UpsertJSON(ctx context.Context, objectType string, records []json.RawMessage) (*UpsertResult, error) {
	return s.upsert(ctx, objectType, len(records), func(i int) (map[string]any, *Rejection) {
		rec, err := decodeRecord(records[i])
		if err != nil {
			return nil, &Rejection{Index: i, Error: err.Error()}
		}
		return rec, nil
	})
}

// decodeRecord reads a JSON object, keeping numbers as json.Number.
func decodeRecord(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("a record must be a JSON object, got %s", jsonKind(raw))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var rec map[string]any
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return rec, nil
}

func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// row is a record ready to store: one value per field of its type, nil
// where the record had none.
type row struct {
	key    string
	values []any
}

func (s *Store) upsert(ctx context.Context, objectType string, n int, record func(i int) (map[string]any, *Rejection)) (*UpsertResult, error) {
	t, err := s.table(ctx, objectType)
	if err != nil {
		return nil, err
	}
	res := &UpsertResult{Rejected: []Rejection{}}
	var rows []*row
	byKey := map[string]*row{}
	used := make([]bool, len(t.Fields)) // fields some record carries
	for i := 0; i < n; i++ {
		rec, rej := record(i)
		var r *row
		if rej == nil {
			r, rej = t.row(i, rec)
		}
		if rej != nil {
			res.Rejected = append(res.Rejected, *rej)
			continue
		}
		res.Accepted++
		for j, v := range r.values {
			used[j] = used[j] || v != nil
		}
		// A key repeated within the batch merges into its first row: the
		// database would refuse to update one row twice in a statement.
		if prev := byKey[r.key]; prev != nil {
			for j, v := range r.values {
				if v != nil {
					prev.values[j] = v
				}
			}
			continue
		}
		byKey[r.key] = r
		rows = append(rows, r)
	}
	if len(rows) > 0 {
		if err := s.write(ctx, t, rows, used); err != nil {
			return nil, fmt.Errorf("upsert %s: %w", objectType, err)
		}
	}
	return res, nil
}

// row validates a record: every key a field of the type, every value of
// its field's type, the primary fields present.
func (t *table) row(i int, rec map[string]any) (*row, *Rejection) {
	names := make([]string, 0, len(rec))
	for name := range rec {
		names = append(names, name)
	}
	sort.Strings(names) // the first bad field by name, whatever the map order
	r := &row{values: make([]any, len(t.Fields))}
	for _, name := range names {
		j, ok := t.index[name]
		if !ok {
			return nil, &Rejection{Index: i, Field: clip.String(name), Error: fmt.Sprintf("unknown field of %s (fields: %s)", t.Name, strings.Join(t.fieldNames(), ", "))}
		}
		v, err := coerce(t.Fields[j].Type, rec[name])
		if err != nil {
			return nil, &Rejection{Index: i, Field: name, Error: err.Error()}
		}
		r.values[j] = v
	}
	var key strings.Builder
	for _, j := range t.primary {
		v, _ := r.values[j].(string)
		if v == "" {
			return nil, &Rejection{Index: i, Field: t.Fields[j].Name, Error: "primary field is missing (null and blank strings count as missing)"}
		}
		key.WriteString(strconv.Itoa(len(v)))
		key.WriteByte(':')
		key.WriteString(v)
	}
	r.key = key.String()
	return r, nil
}

// write upserts rows in one transaction, one statement per
// rowsPerStatementMax rows. The rows travel as one JSON array of arrays
// (one bind parameter, however many rows: binding a parameter per value
// is several times slower on DuckDB), unpacked by json_array_elements,
// which DuckDB has as a macro. Columns no record carries are left out;
// those a row lacks are null and keep their stored value through
// coalesce.
func (s *Store) write(ctx context.Context, t *table, rows []*row, used []bool) error {
	var cols []int
	for j, f := range t.Fields {
		if f.Primary || used[j] {
			cols = append(cols, j)
		}
	}
	query := upsertSQL(t, cols)
	defer s.lockWrites()()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	now := s.now().UTC().Truncate(time.Microsecond)
	for start := 0; start < len(rows); start += rowsPerStatementMax {
		chunk := rows[start:min(start+rowsPerStatementMax, len(rows))]
		batch := make([][]any, len(chunk))
		for i, r := range chunk {
			batch[i] = make([]any, len(cols))
			for k, j := range cols {
				batch[i][k] = jsonValue(r.values[j])
			}
		}
		data, err := json.Marshal(batch)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, query, now, string(data)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// upsertSQL is INSERT ... SELECT ... ON CONFLICT DO UPDATE of the columns
// cols: $1 is _updated_at, $2 the rows as a JSON array of arrays.
func upsertSQL(t *table, cols []int) string {
	names := make([]string, len(cols))
	values := make([]string, len(cols))
	var set []string
	for k, j := range cols {
		f := t.Fields[j]
		names[k] = ident(f.Name)
		values[k] = fmt.Sprintf("r->>%d", k)
		if f.Type != FieldString {
			values[k] = fmt.Sprintf("(%s)::%s", values[k], columnTypes[f.Type])
		}
		if !f.Primary {
			set = append(set, fmt.Sprintf("%s = coalesce(excluded.%s, cur.%s)", ident(f.Name), ident(f.Name), ident(f.Name)))
		}
	}
	set = append(set, UpdatedAtColumn+" = excluded."+UpdatedAtColumn)
	return fmt.Sprintf("INSERT INTO %s AS cur (%s, %s) SELECT %s, $1 FROM (SELECT json_array_elements($2::json) AS r) AS batch ON CONFLICT (%s) DO UPDATE SET %s",
		tableName(t.Name), strings.Join(names, ", "), UpdatedAtColumn, strings.Join(values, ", "), joinIdents(t.primaryNames()), strings.Join(set, ", "))
}
