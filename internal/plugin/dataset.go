package plugin

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store"
)

// FixedColumns are the columns every dataset starts with, in this order;
// the feature columns follow. Consumers should look columns up by name.
var FixedColumns = []string{"user_id", "user_created", "data_now", "y_value", "y_timestamp", "random",
	"moment_key", "user_moment_base_timestamp", "moment_timestamp"}

// Dataset is what a data URL serves, fixed when the dataset is made.
type Dataset struct {
	// Key is the dataset key (initial, batch, ...), the moment_key column.
	Key string `json:"key"`
	// Seed salts the random column: random = weft_unit_hash(seed || user_id),
	// uniform in [0, 1), fixed per user for the dataset. Runs use the
	// plugin's name, so every dataset of a plugin orders and ranges users
	// alike (batches of a later run cover the same users).
	Seed string `json:"seed"`
	// Now is data_now: goals count events up to it.
	Now time.Time `json:"now"`
	// Goal is nil for plugins without one (y_value is then "false").
	Goal     *Goal     `json:"goal,omitempty"`
	Features []Feature `json:"features"`
	// Moment is when each user's features are taken; nil is latest.
	Moment *Moment `json:"moment,omitempty"`
	// Attributes are the definitions of the attribute features and of an
	// attribute goal, kept with the dataset: features at a moment and the
	// goal at data_now are calculated with them (without one, the current
	// values are read).
	Attributes []attr.Definition `json:"attributes,omitempty"`
}

// Goal is a binary label: the user has an event of EventType
// (source/type/version) up to data_now (y_timestamp: its first time), or
// the user's attribute meets a condition (y_timestamp null: attribute
// values carry no time). Exactly one of EventType and Attribute is set.
type Goal struct {
	EventType string `json:"event_type,omitempty"`
	// Attribute is the attribute's id, DataType its data type (attr.Data*),
	// Op one of config.GoalOps and Value the operand as config normalized
	// it (float64, bool or text). A user without the attribute meets no
	// condition but is_set's negation: "!=" is false there too.
	Attribute string `json:"attribute,omitempty"`
	DataType  string `json:"data_type,omitempty"`
	Op        string `json:"op,omitempty"`
	Value     any    `json:"value,omitempty"`
}

// Met tells whether a stored attribute value (text, NULL when the user
// has none) meets an attribute goal. Values that do not parse as the
// data type meet nothing.
func (g *Goal) Met(v sql.NullString) bool {
	if !v.Valid {
		return false
	}
	if g.Op == "is_set" {
		return true
	}
	var c int
	switch g.DataType {
	case attr.DataInt, attr.DataFloat:
		x, err := strconv.ParseFloat(v.String, 64)
		y, ok := g.Value.(float64)
		if err != nil || !ok || math.IsNaN(x) {
			return false
		}
		c = cmpFloat(x, y)
	case attr.DataBool:
		x, err := strconv.ParseBool(v.String)
		y, ok := g.Value.(bool)
		if err != nil || !ok {
			return false
		}
		c = map[bool]int{true: 0, false: 1}[x == y]
	case attr.DataDate:
		y, _ := g.Value.(string)
		if len(v.String) < 10 {
			return false
		}
		c = strings.Compare(v.String[:10], y)
	case attr.DataDatetime:
		s, _ := attr.JSONValueOf(attr.DataDatetime, v.String).(string)
		x, err1 := time.Parse(time.RFC3339Nano, s)
		ys, _ := g.Value.(string)
		y, err2 := time.Parse(time.RFC3339Nano, ys)
		if err1 != nil || err2 != nil {
			return false
		}
		c = x.Compare(y)
	default:
		y, _ := g.Value.(string)
		c = map[bool]int{true: 0, false: 1}[v.String == y]
	}
	switch g.Op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// Feature is one column after the fixed ones: an attribute or a plugin
// property, by id.
type Feature struct {
	// Column is the column name, feature_<id> with anything but letters,
	// digits and _ replaced by _.
	Column string `json:"column"`
	// Exactly one of Attribute and Property is set.
	Attribute string `json:"attribute,omitempty"`
	Property  string `json:"property,omitempty"`
	// DataType is the attribute's (attr.DataString, ...); properties hold
	// JSON values already.
	DataType string `json:"data_type,omitempty"`
	// Multiple attributes are arrays.
	Multiple bool `json:"multiple,omitempty"`
}

// DatasetCreate stores the dataset a data URL of the run serves, with
// what its moment fixes (users and cut-offs, attributes as of them; see
// materialize), in one transaction. Making it again (a resumed run) keeps
// the first one, so reads stay identical.
func (s *Service) DatasetCreate(ctx context.Context, run string, d *Dataset) error {
	if !nameRE.MatchString(run) || !nameRE.MatchString(d.Key) {
		return fmt.Errorf("dataset %q of run %q: bad name", d.Key, run)
	}
	tx, err := s.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, s.db.Query("PluginDatasetExists"), run, d.Key).Scan(&n); err != nil {
		return fmt.Errorf("store dataset %s of run %s: %w", d.Key, run, err)
	}
	if n > 0 {
		return nil
	}
	if err := s.materialize(ctx, tx, run, d); err != nil {
		return err
	}
	spec, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginDatasetInsert"), run, d.Key, string(spec), s.now()); err != nil {
		return fmt.Errorf("store dataset %s of run %s: %w", d.Key, run, err)
	}
	return tx.Commit()
}

// DatasetGet reads a stored dataset definition; ErrNotFound if none.
func (s *Service) DatasetGet(ctx context.Context, run, key string) (*Dataset, error) {
	var spec string
	err := s.db.SQL().QueryRowContext(ctx, s.db.Query("PluginDatasetGet"), run, key).Scan(&spec)
	if isNoRows(err) {
		return nil, fmt.Errorf("run %s has no dataset %q: %w", run, key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read dataset %s of run %s: %w", key, run, err)
	}
	var d Dataset
	if err := json.Unmarshal([]byte(spec), &d); err != nil {
		return nil, fmt.Errorf("dataset %s of run %s: %w", key, run, err)
	}
	return &d, nil
}

// UserCount counts the live customer entities: a dataset's full size.
func (s *Service) UserCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.SQL().QueryRowContext(ctx, s.db.Query("PluginUserCount")).Scan(&n)
	return n, err
}

// Range selects users by their random value: start <= random < end.
type Range struct{ Start, End float64 }

// FullRange selects every user.
var FullRange = Range{0, 1}

// ParseRange reads range_start_gt_or_eq and range_end_lt: numbers in
// [0, 1], start not above end, both optional.
func ParseRange(start, end string) (Range, error) {
	r := FullRange
	for _, p := range []struct {
		name, val string
		into      *float64
	}{{"range_start_gt_or_eq", start, &r.Start}, {"range_end_lt", end, &r.End}} {
		if p.val == "" {
			continue
		}
		f, err := strconv.ParseFloat(p.val, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
			return r, &InputError{"invalid_range", fmt.Sprintf("%s=%q must be a number from 0 to 1", p.name, p.val)}
		}
		*p.into = f
	}
	if r.Start > r.End {
		return r, &InputError{"invalid_range", fmt.Sprintf("range_start_gt_or_eq (%v) is above range_end_lt (%v)", r.Start, r.End)}
	}
	return r, nil
}

// datasetQuery builds the rows query of a dataset: one row per user
// (live entity), ordered by the random value and the id. Feature ids are
// parameters, never spliced into the SQL.
func datasetQuery(run string, d *Dataset) (string, []any) {
	args := []any{d.Seed, 0.0, 1.0}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var attrCols, valCols, propCols, outCols, attrIDs, propIDs []string
	for i, f := range d.Features {
		col := "f" + strconv.Itoa(i)
		switch {
		case f.Attribute != "" && d.asOf(f.Attribute, false):
			valCols = append(valCols, aggregated(f.Multiple, "v.value", "v.slot = "+strconv.Itoa(i), col))
			outCols = append(outCols, "fv."+col)
		case f.Attribute != "":
			attrCols = append(attrCols, aggregated(f.Multiple, "a.value", "a.attribute_id = "+arg(f.Attribute), col))
			attrIDs = append(attrIDs, f.Attribute)
			outCols = append(outCols, "fa."+col)
		default:
			propCols = append(propCols, aggregated(false, "p.value", "p.property_id = "+arg(f.Property), col))
			propIDs = append(propIDs, f.Property)
			outCols = append(outCols, "fp."+col)
		}
	}
	var b strings.Builder
	if d.cutoff() {
		fmt.Fprintf(&b, `WITH u AS (
  SELECT e.id, e.created_at, weft_unit_hash($1 || e.id) AS r, du.base_at, du.moment_at
  FROM plugin_dataset_users du JOIN entities e ON e.id = du.entity_id AND e.merged_into IS NULL
  WHERE du.run_id = %s AND du.key = %s
)`, arg(run), arg(d.Key))
	} else {
		fmt.Fprintf(&b, `WITH u AS (
  SELECT id, created_at, weft_unit_hash($1 || id) AS r, created_at AS base_at, CAST(%s AS TIMESTAMPTZ) AS moment_at
  FROM entities WHERE merged_into IS NULL
)`, arg(d.Now))
	}
	goal, goalValue := "CAST(NULL AS TIMESTAMPTZ)", "CAST(NULL AS TEXT)"
	switch g := d.Goal; {
	case g != nil && g.Attribute != "" && d.asOf(g.Attribute, true):
		valCols = append(valCols, aggregated(false, "v.value", "v.slot = "+strconv.Itoa(goalSlot), "g"))
		goalValue = "fv.g"
	case g != nil && g.Attribute != "":
		attrCols = append(attrCols, aggregated(false, "a.value", "a.attribute_id = "+arg(g.Attribute), "g"))
		attrIDs = append(attrIDs, g.Attribute)
		goalValue = "fa.g"
	case g != nil && g.EventType != "":
		ga := d.goalArgs()
		fmt.Fprintf(&b, ", g AS %s", goalTimes(arg(ga[0]), arg(ga[1]), arg(ga[2]), arg(d.Now)))
		goal = "g.t"
	}
	var joins string
	cte := func(name, cols, from string) {
		if cols != "" {
			fmt.Fprintf(&b, ", %s AS (\n  SELECT %s\n  %s\n)", name, cols, from)
			joins += fmt.Sprintf(" LEFT JOIN %s ON %s.entity_id = u.id", name, name)
		}
	}
	if len(attrCols) > 0 {
		cte("fa", "a.entity_id, "+strings.Join(attrCols, ", "), fmt.Sprintf(
			"FROM customer_attributes a WHERE a.attribute_id IN (SELECT unnest(CAST(%s AS TEXT[]))) GROUP BY a.entity_id", arg(attrIDs)))
	}
	if len(valCols) > 0 {
		cte("fv", "v.entity_id, "+strings.Join(valCols, ", "), fmt.Sprintf(
			"FROM plugin_dataset_values v WHERE v.run_id = %s AND v.key = %s GROUP BY v.entity_id", arg(run), arg(d.Key)))
	}
	if len(propCols) > 0 {
		cte("fp", "p.entity_id, "+strings.Join(propCols, ", "), fmt.Sprintf(
			"FROM plugin_property_values p WHERE p.property_id IN (SELECT unnest(CAST(%s AS TEXT[]))) GROUP BY p.entity_id", arg(propIDs)))
	}
	if goal == "g.t" {
		joins = " LEFT JOIN g ON g.entity_id = u.id" + joins
	}
	fmt.Fprintf(&b, "\nSELECT u.id, u.created_at, u.r, u.base_at, u.moment_at, %s, %s", goal, goalValue)
	for _, c := range outCols {
		b.WriteString(", " + c)
	}
	b.WriteString("\nFROM u" + joins + "\nWHERE u.r >= $2 AND u.r < $3\nORDER BY u.r, u.id")
	return b.String(), args
}

// aggregated is the column of one feature in a pivot of (entity, id,
// value) rows: the value, or for several, the sorted values joined by
// chr(31).
func aggregated(multiple bool, value, cond, col string) string {
	if multiple {
		return fmt.Sprintf("string_agg(%s, chr(31) ORDER BY %s) FILTER (WHERE %s) AS %s", value, value, cond, col)
	}
	return fmt.Sprintf("max(%s) FILTER (WHERE %s) AS %s", value, cond, col)
}

// WriteDataset streams the dataset of a data URL as JSON: metadata.columns
// then data, one row per live customer entity in the range, ordered by
// random. Memory stays bounded: rows go out as they are read.
func (s *Service) WriteDataset(ctx context.Context, t Token, rg Range, out io.Writer) (int64, error) {
	d, err := s.DatasetGet(ctx, t.Run, t.Scope)
	if err != nil {
		return 0, err
	}
	return writeDataset(ctx, s.db.SQL(), t.Run, d, rg, out)
}

func writeDataset(ctx context.Context, db *sql.DB, run string, d *Dataset, rg Range, out io.Writer) (int64, error) {
	query, args := datasetQuery(run, d)
	args[1], args[2] = rg.Start, rg.End
	if rg.End >= 1 {
		args[2] = 2.0 // random < 1 always; 1 itself would be excluded by nothing
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("read dataset %s: %w", d.Key, err)
	}
	defer rows.Close()

	w := bufio.NewWriterSize(out, 64<<10)
	w.WriteString(`{"metadata":{"columns":[`)
	for i, c := range FixedColumns {
		if i > 0 {
			w.WriteByte(',')
		}
		writeString(w, c)
	}
	for _, f := range d.Features {
		w.WriteByte(',')
		writeString(w, f.Column)
	}
	w.WriteString(`]},"data":[`)

	now := d.Now.UTC().Format(time.RFC3339)
	var (
		id       string
		created  time.Time
		random   float64
		base     time.Time
		moment   time.Time
		goalAt   sql.NullTime
		goalVal  sql.NullString
		attrGoal = d.Goal != nil && d.Goal.Attribute != ""
		vals     = make([]sql.NullString, len(d.Features))
		dest     = append([]any{&id, &created, &random, &base, &moment, &goalAt, &goalVal}, make([]any, len(d.Features))...)
		n        int64
		num      []byte
	)
	for i := range vals {
		dest[7+i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("read dataset %s: %w", d.Key, err)
		}
		if n > 0 {
			w.WriteByte(',')
		}
		n++
		createdS := created.UTC().Format(time.RFC3339)
		w.WriteByte('[')
		writeString(w, id)
		w.WriteByte(',')
		writeString(w, createdS)
		w.WriteByte(',')
		writeString(w, now)
		if attrGoal {
			if d.Goal.Met(goalVal) {
				w.WriteString(`,"true",null`)
			} else {
				w.WriteString(`,"false",null`)
			}
		} else if goalAt.Valid {
			w.WriteString(`,"true",`)
			writeString(w, goalAt.Time.UTC().Format(time.RFC3339))
		} else {
			w.WriteString(`,"false",null`)
		}
		w.WriteByte(',')
		num = strconv.AppendFloat(num[:0], random, 'g', -1, 64)
		w.Write(num)
		w.WriteByte(',')
		writeString(w, d.Key)
		w.WriteByte(',')
		writeString(w, base.UTC().Format(time.RFC3339))
		w.WriteByte(',')
		writeString(w, moment.UTC().Format(time.RFC3339))
		for i, f := range d.Features {
			w.WriteByte(',')
			writeFeature(w, f, vals[i])
		}
		w.WriteByte(']')
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read dataset %s: %w", d.Key, err)
	}
	w.WriteString("]}\n")
	return n, w.Flush()
}

// writeFeature writes a feature value typed by its attribute's data type;
// property values are JSON already.
func writeFeature(w *bufio.Writer, f Feature, v sql.NullString) {
	switch {
	case !v.Valid:
		w.WriteString("null")
	case f.Property != "":
		w.WriteString(v.String)
	case f.Multiple:
		w.WriteByte('[')
		for i, part := range strings.Split(v.String, "\x1f") {
			if i > 0 {
				w.WriteByte(',')
			}
			writeAttrValue(w, f.DataType, part)
		}
		w.WriteByte(']')
	default:
		writeAttrValue(w, f.DataType, v.String)
	}
}

func writeAttrValue(w *bufio.Writer, dataType, v string) {
	switch dataType {
	case attr.DataInt, attr.DataFloat:
		if _, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "nNiI") {
			w.WriteString(v)
			return
		}
	case attr.DataBool:
		if b, err := strconv.ParseBool(v); err == nil {
			w.WriteString(strconv.FormatBool(b))
			return
		}
	case attr.DataDatetime:
		if s, ok := attr.JSONValueOf(dataType, v).(string); ok {
			v = s
		}
	}
	writeString(w, v)
}

// writeString writes s as a JSON string.
func writeString(w *bufio.Writer, s string) {
	w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		w.WriteString(s[start:i])
		switch c {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\n':
			w.WriteString(`\n`)
		case '\t':
			w.WriteString(`\t`)
		case '\r':
			w.WriteString(`\r`)
		default:
			if c >= utf8.RuneSelf {
				w.WriteString(`\ufffd`)
			} else {
				fmt.Fprintf(w, `\u%04x`, c)
			}
		}
		i++
		start = i
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}

// DatasetDelete removes a dataset definition (a development manifest
// makes its datasets afresh).
func (s *Service) DatasetDelete(ctx context.Context, run, key string) error {
	tx, err := s.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range []string{"PluginDatasetDelete", "PluginDatasetUsersDelete", "PluginDatasetValuesDelete"} {
		if _, err := tx.ExecContext(ctx, s.db.Query(q), run, key); err != nil {
			return fmt.Errorf("delete dataset %s of run %s: %w", key, run, err)
		}
	}
	return tx.Commit()
}
