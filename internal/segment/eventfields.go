package segment

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/sqlrewrite"
	"github.com/weftdata/weft/internal/store"
)

// The first count of a new payload condition (a console builder's) has
// no kept values (eventvalues.go) and evaluates its where and field on
// every event of its type: on 10M events, DuckDB decompresses the payload
// column of nearly every row group (the purchases are a fifth of the
// events, spread over all of them) and parses 2M documents, 0.7 to 1.2 s,
// where the count itself reads narrow columns. A condition's where and
// field usually read top-level fields of the payload alone (payload->>'k'),
// so where the backend says so (store.Capabilities.PayloadFields) the
// engine keeps a copy of those fields: segment_event_fields holds, per
// event type (source and type, every version), one row per event of the
// log up to the type's filled_to with the text of each top-level key of
// its payloads (exactly what payload->>'key' gives) in a column of its
// own. A condition that reads only such fields (fieldRewrite) is evaluated
// over these columns, the kept keys' columns in place of payload->>'key'
// and NULL for a key that no payload of the type holds. A key whose every
// copied value converts to DuckDB's ::numeric keeps that number too
// (column nN, migration 057), which a cast of the key to numeric reads
// instead of converting its text (numericCasts).
//
// The copy is kept up to date as the kept values are: KeepFields (the
// server calls it in the background) copies each type's events after
// filled_to, and a preview copies its types' tail before it counts. A
// preview whose condition the copy answers keeps no values of it: reading
// the copy costs about what reading kept values does, and the fill would
// cost more than the count. A run's fill of kept values reads the copy up
// to its filled_to and the log after it.

// fieldColumns is how many keys of a type segment_event_fields holds
// (columns c1 to c24, migration 045); a type with more keeps the first it
// met and is marked overflow: a condition on another key of it reads the
// log.
const fieldColumns = 24

// fieldWindow is how many of the log's seqs one transaction of a type's
// copy covers: a first copy of a large log is resumable, and its memory
// bounded.
const fieldWindow = 1_000_000

// fieldType is the copy of one event type's payload fields.
type fieldType struct {
	tkey        int64
	source, typ string
	filledTo    int64
	overflow    bool
	// keys are the keys copied, keys[i] in column c<i+1>.
	keys []string
	// numeric[i] is whether every value of keys[i] copied up to filledTo
	// is NULL or converts to DECIMAL(18,3): column n<i+1> then holds each
	// as ::numeric gives it (numericCasts).
	numeric []bool
}

// fieldTypeKey is the key of an event type's fields: a hash of its source
// and type.
func fieldTypeKey(source, typ string) int64 {
	h := sha256.Sum256([]byte(strconv.Quote(source) + "/" + strconv.Quote(typ)))
	return int64(binary.BigEndian.Uint64(h[:8]) >> 1)
}

// fieldSource is how an event condition reads its per-event values from
// the copy of its type's fields: up to upto, the value expression over
// the copy's columns, for the rows where holds.
type fieldSource struct {
	tkey  int64
	upto  int64
	where string
	value string
}

// values is the query of the per-event values (columns seq, v) of the
// events in (after, to] from the copy.
func (fs *fieldSource) values(after, to int64) string {
	q := "SELECT ev.seq, " + fs.value + " AS v FROM segment_event_fields ev WHERE ev.tkey = " + strconv.FormatInt(fs.tkey, 10) +
		" AND ev.seq > " + strconv.FormatInt(after, 10) + " AND ev.seq <= " + strconv.FormatInt(to, 10)
	if fs.where != "" {
		q += " AND (" + fs.where + ")"
	}
	return q
}

// logColumns are the words that, in a where or a field rewritten to read
// the copy, would name something of the log's row that the copy does not
// hold (or holds otherwise): its columns but seq, its row as a whole, a
// row id; and the copy's own columns, which the log does not have.
var logColumns = []string{"payload", "id", "source_id", "type", "version", "event_time", "created_at",
	"rowid", "ctid", "oid", "xmin", "xmax", "tableoid", "columns", "tkey"}

// readsOnlyFields reports whether expr, its payload->>'key' operands taken
// out, names nothing of the log's row but seq (conservatively: any such
// word anywhere, in a string literal too, says no).
func readsOnlyFields(expr string) bool {
	rest, ok := sqlrewrite.ExtractKeys(expr, "payload", func(_, before string) (string, bool) {
		return "(NULL)", operandStart(before)
	})
	if !ok || strings.Contains(rest, ".*") {
		return false
	}
	for i := 0; i < len(rest); {
		if !isWordByte(rest[i]) {
			i++
			continue
		}
		j := i
		for j < len(rest) && isWordByte(rest[j]) {
			j++
		}
		w := strings.ToLower(rest[i:j])
		if slices.Contains(logColumns, w) || isFieldColumn(w) {
			return false
		}
		// ev alone is the row as a whole (to_json(ev)); ev.seq is the seq.
		if w == "ev" && (j >= len(rest) || rest[j] != '.') {
			return false
		}
		i = j
	}
	return true
}

// operandStart reports whether payload->>'key' after before is read as
// one operand on DuckDB whatever follows: there ->> binds more loosely
// than AND, = or +, so that x AND payload->>'k' = 'v' is (x AND payload)
// ->> ... and fails, where a column in its place would not. Only at the
// start of an expression (after an opening parenthesis, a comma, CASE,
// WHEN, THEN or ELSE) is the rewrite sure to mean what the payload's does.
func operandStart(before string) bool {
	b := strings.TrimRight(before, " \t\r\n")
	if b == "" || strings.HasSuffix(b, "(") || strings.HasSuffix(b, ",") {
		return true
	}
	i := len(b)
	for i > 0 && isWordByte(b[i-1]) {
		i--
	}
	if i > 0 && !strings.ContainsRune(" \t\r\n()", rune(b[i-1])) {
		return false
	}
	switch strings.ToUpper(b[i:]) {
	case "CASE", "WHEN", "THEN", "ELSE":
		return true
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// isFieldColumn reports whether w is a column c<n> of the copy.
func isFieldColumn(w string) bool {
	if len(w) < 2 || w[0] != 'c' {
		return false
	}
	_, err := strconv.Atoi(w[1:])
	return err == nil
}

// fieldRewrite rewrites expr (a where or a value) to read ft's columns
// instead of the payload, or reports that it cannot: it names more of
// the log's row than payload->>'key' of keys the copy answers.
func fieldRewrite(expr string, ft *fieldType) (string, bool) {
	if !readsOnlyFields(expr) {
		return "", false
	}
	out, ok := sqlrewrite.ExtractKeys(expr, "payload", func(k, _ string) (string, bool) {
		if i := slices.Index(ft.keys, k); i >= 0 {
			return "(ev.c" + strconv.Itoa(i+1) + ")", true
		}
		if ft.overflow {
			return "", false
		}
		// No payload of the type up to filled_to holds the key.
		return "(CAST(NULL AS TEXT))", true
	})
	if !ok {
		return "", false
	}
	return numericCasts(out, ft), true
}

// fieldSourceOf is how n reads its values from the copy of its type's
// fields, or nil: the backend keeps no copy, the type has none, n names a
// version (the copy has none) or reads more than the copy holds.
func fieldSourceOf(n *Condition, types map[int64]*fieldType) *fieldSource {
	r, err := parseEventRef(n.Event)
	if err != nil || r.version != "" || (n.Where == "" && n.Sum == nil) {
		return nil
	}
	ft := types[fieldTypeKey(r.source, r.typ)]
	if ft == nil || ft.filledTo == 0 {
		return nil
	}
	fs := &fieldSource{tkey: ft.tkey, upto: ft.filledTo}
	var ok bool
	if fs.value, ok = fieldRewrite(eventValue(n), ft); !ok {
		return nil
	}
	if n.Where != "" {
		if fs.where, ok = fieldRewrite(n.Where, ft); !ok {
			return nil
		}
	}
	return fs
}

// payloadFields are the sources from the copy of the fields of the
// conditions that have one, by key; with top (a preview's log top, 0 for
// none), the copies of their types are brought up to it first.
func (r *run) payloadFields(ctx context.Context, conds map[int64]*Condition, top int64) map[int64]*fieldSource {
	out := map[int64]*fieldSource{}
	if !r.e.caps.PayloadFields() || len(conds) == 0 {
		return out
	}
	types, err := readFieldTypes(ctx, r.conn)
	if err != nil {
		return out
	}
	for _, n := range conds {
		if ref, err := parseEventRef(n.Event); err == nil {
			// A tail of more than a window is the server's first
			// copy under way: the log answers for it meanwhile.
			if ft := types[fieldTypeKey(ref.source, ref.typ)]; ft != nil && ft.filledTo > 0 && ft.filledTo < top && top-ft.filledTo <= fieldWindow {
				// A failed copy leaves filled_to where it was.
				r.copyFields(ctx, ft, top) //nolint:errcheck // the log answers for what is not copied
			}
		}
	}
	for k, n := range conds {
		if fs := fieldSourceOf(n, types); fs != nil {
			out[k] = fs
		}
	}
	return out
}

// readFieldTypes reads every type's copy, by tkey.
func readFieldTypes(ctx context.Context, x store.Executor) (map[int64]*fieldType, error) {
	types := map[int64]*fieldType{}
	rows, err := x.QueryContext(ctx, x.Query("SegmentFieldTypes"))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		ft := &fieldType{}
		if err := rows.Scan(&ft.tkey, &ft.source, &ft.typ, &ft.filledTo, &ft.overflow); err != nil {
			rows.Close()
			return nil, err
		}
		types[ft.tkey] = ft
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = x.QueryContext(ctx, x.Query("SegmentFieldKeys"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var tkey int64
		var pos int
		var name string
		var numeric bool
		if err := rows.Scan(&tkey, &pos, &name, &numeric); err != nil {
			return nil, err
		}
		if ft := types[tkey]; ft != nil && pos == len(ft.keys)+1 {
			ft.keys = append(ft.keys, name)
			ft.numeric = append(ft.numeric, numeric)
		}
	}
	return types, rows.Err()
}

// KeepFields brings the copy of the payload fields of every event type of
// the log up to its last event (where the backend keeps one: see
// eventfields.go). The server runs it in the background; the first time
// over a large log it copies every event (about 5 s of CPU per 2M events
// of a type at 10M), later only the events since.
func (e *Engine) KeepFields(ctx context.Context) error {
	if !e.caps.PayloadFields() {
		return nil
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := &run{e: e, conn: conn, now: e.opts.Now().UTC()}
	var top int64
	if err := conn.QueryRowContext(ctx, conn.Query("SegmentLogTop")).Scan(&top); err != nil {
		return err
	}
	types, err := readFieldTypes(ctx, conn)
	if err != nil {
		return err
	}
	// Types first met after the least filled one's filled_to.
	least := top
	for _, ft := range types {
		least = min(least, ft.filledTo)
	}
	if len(types) == 0 {
		least = 0
	}
	rows, err := conn.QueryContext(ctx, conn.Query("SegmentFieldTypesNew"), least)
	if err != nil {
		return err
	}
	for rows.Next() {
		var source, typ string
		if err := rows.Scan(&source, &typ); err != nil {
			rows.Close()
			return err
		}
		if k := fieldTypeKey(source, typ); types[k] == nil {
			types[k] = &fieldType{tkey: k, source: source, typ: typ}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(types)) {
		if err := r.copyFields(ctx, types[k], top); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// copyFields copies the fields of ft's events up to to, a window of
// fieldWindow seqs per transaction, and updates ft as it goes.
func (r *run) copyFields(ctx context.Context, ft *fieldType, to int64) error {
	for ft.filledTo < to {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := min(to, ft.filledTo+fieldWindow)
		if err := r.copyFieldWindow(ctx, ft, next); err != nil {
			return err
		}
	}
	return nil
}

// copyFieldWindow copies the fields of ft's events in (ft.filledTo, to]
// in one transaction that moves the type's filled_to, holding the
// stitching lock shared as a fill of values does (fillKey). New keys of
// the window take the next columns; the rows copied before hold NULL in
// them, rightly: no payload before held the key.
func (r *run) copyFieldWindow(ctx context.Context, ft *fieldType, to int64) error {
	tx, done, err := r.lockedTx(ctx)
	if err != nil {
		return err
	}
	defer done()
	from := ft.filledTo
	args := []any{ft.source, ft.typ, from, to}
	// json_keys is DuckDB's; only a backend with PayloadFields runs this.
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT k FROM (SELECT unnest(json_keys(payload)) AS k FROM event_log "+
		"WHERE source_id = $1 AND type = $2 AND seq > $3 AND seq <= $4) t ORDER BY k", args...)
	if err != nil {
		return err
	}
	var met []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return err
		}
		met = append(met, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	keys, numeric, overflow := slices.Clone(ft.keys), slices.Clone(ft.numeric), ft.overflow
	for _, k := range met {
		switch {
		case !sqlrewrite.IsKey(k) || slices.Contains(keys, k):
			// A key ExtractKeys never reads, or one copied already.
		case len(keys) < fieldColumns:
			keys = append(keys, k)
			numeric = append(numeric, true)
			if _, err := tx.ExecContext(ctx, tx.Query("SegmentFieldKeyAdd"), ft.tkey, len(keys), k); err != nil {
				return err
			}
		default:
			overflow = true
		}
	}
	cols, vals := "tkey, seq", strconv.FormatInt(ft.tkey, 10)+", seq"
	parsed := ""
	if len(keys) > 0 {
		for i := range keys {
			n := strconv.Itoa(i + 1)
			cols += ", c" + n
			vals += ", struct_extract_at(weft_json, " + n + ")"
			if numeric[i] {
				// TRY_CAST converts as CAST does, or gives NULL where
				// CAST would fail: the check below then marks the key.
				// It fails slowly (a url: about 0.6 µs, 0.36 s of CPU
				// per 620k page views), so a text that cannot start a
				// number is not tried: NULL marks its key all the same.
				v := "struct_extract_at(weft_json, " + n + ")"
				cols += ", n" + n
				vals += ", CASE WHEN regexp_matches(" + v + ", '^\\s*[-+.0-9]') THEN TRY_CAST(" + v + " AS DECIMAL(18,3)) END"
			}
		}
		// What payload->>'key' gives for every key, one parse per event.
		parsed = ", " + sqlrewrite.ParseOnce("payload", keys)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO segment_event_fields ("+cols+") SELECT "+vals+" FROM (SELECT seq"+parsed+
		" FROM event_log WHERE source_id = $1 AND type = $2 AND seq > $3 AND seq <= $4) e", args...); err != nil {
		return err
	}
	if err := notNumeric(ctx, tx, ft.tkey, from, to, numeric); err != nil {
		return err
	}
	var res interface{ RowsAffected() (int64, error) }
	if from == 0 {
		res, err = tx.ExecContext(ctx, tx.Query("SegmentFieldTypeAdd"), ft.tkey, ft.source, ft.typ, to, overflow)
	} else {
		res, err = tx.ExecContext(ctx, tx.Query("SegmentFieldTypeFilled"), ft.tkey, to, overflow, from)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errRaced
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	ft.filledTo, ft.keys, ft.numeric, ft.overflow = to, keys, numeric, overflow
	return nil
}

// notNumeric finds the keys marked numeric (numeric[i] for column i+1)
// some of whose values just copied, in (from, to], did not convert to a
// number, and marks them not numeric, in numeric and in
// segment_field_keys.
func notNumeric(ctx context.Context, tx *store.Tx, tkey, from, to int64, numeric []bool) error {
	var pos []int64
	var tests []string
	for i, ok := range numeric {
		if ok {
			n := strconv.Itoa(i + 1)
			pos = append(pos, int64(i+1))
			tests = append(tests, "coalesce(bool_and(c"+n+" IS NULL OR n"+n+" IS NOT NULL), true)")
		}
	}
	if len(pos) == 0 {
		return nil
	}
	got := make([]bool, len(pos))
	dest := make([]any, len(pos))
	for i := range got {
		dest[i] = &got[i]
	}
	if err := tx.QueryRowContext(ctx, "SELECT "+strings.Join(tests, ", ")+" FROM segment_event_fields WHERE tkey = $1 AND seq > $2 AND seq <= $3",
		tkey, from, to).Scan(dest...); err != nil {
		return err
	}
	var failed []int64
	for i, ok := range got {
		if !ok {
			failed = append(failed, pos[i])
			numeric[pos[i]-1] = false
		}
	}
	if len(failed) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, tx.Query("SegmentFieldKeysNotNumeric"), tkey, failed)
	return err
}

// numericCasts replaces, in expr rewritten to read the copy's text
// columns, a cast of a numeric key's column to numeric or decimal with no
// precision ((ev.cN)::numeric, CAST((ev.cN) AS numeric): DuckDB's
// DECIMAL(18,3)) by the column nN, which holds exactly that value for
// every row (fieldType.numeric): a sum's field reads a number instead of
// converting the text of every event. Only where the cast is sure to
// apply to the column alone: the parenthesis around it opens an
// expression, not a call's arguments (abs((ev.c1))::numeric casts abs's
// result), and no precision, array or further cast follows the type's
// name.
func numericCasts(expr string, ft *fieldType) string {
	for i, ok := range ft.numeric {
		if !ok {
			continue
		}
		col, num := "(ev.c"+strconv.Itoa(i+1)+")", "(ev.n"+strconv.Itoa(i+1)+")"
		expr = replaceCasts(expr, "("+col+")::", "", num)
		expr = replaceCasts(expr, "CAST("+col+" AS ", ")", num)
	}
	return expr
}

// numericTypes are the names of the type that ::numeric casts to.
var numericTypes = []string{"numeric", "decimal"}

// replaceCasts replaces each occurrence of prefix (in any case), a
// numeric type's name and suffix in expr by "(" + num + ")" where it
// stands as described at numericCasts.
func replaceCasts(expr, prefix, suffix, num string) string {
	var b strings.Builder
	for {
		i := indexFold(expr, prefix)
		if i < 0 {
			b.WriteString(expr)
			return b.String()
		}
		end, ok := castEnd(expr, i+len(prefix), suffix)
		if !ok || !opensExpression(expr[:i]) {
			b.WriteString(expr[:i+len(prefix)])
			expr = expr[i+len(prefix):]
			continue
		}
		b.WriteString(expr[:i] + "(" + num + ")")
		expr = expr[end:]
	}
}

// indexFold is strings.Index with ASCII letters matched in any case (the
// byte offsets of expr are kept, whatever else it holds).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// castEnd is where a cast's type name at expr[at:] (and suffix) ends, if
// the name is a numeric type's without a precision and what follows
// cannot extend the cast.
func castEnd(expr string, at int, suffix string) (int, bool) {
	j := at
	for j < len(expr) && isWordByte(expr[j]) {
		j++
	}
	if !slices.ContainsFunc(numericTypes, func(t string) bool { return len(t) == j-at && asciiEqualFold(expr[at:j], t) }) {
		return 0, false
	}
	k := j
	for k < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[k])) {
		k++
	}
	if suffix != "" {
		if !strings.HasPrefix(expr[k:], suffix) {
			return 0, false
		}
		return k + len(suffix), true
	}
	if k < len(expr) && strings.ContainsRune("([:.", rune(expr[k])) {
		// A precision, an array or another cast: left as written
		// (another cast would be right, but is rare).
		return 0, false
	}
	return j, true
}

// opensExpression reports whether a parenthesis after before opens an
// expression rather than a call's arguments: nothing before it, or an
// operator, a parenthesis, a comma, or a keyword before an operand.
func opensExpression(before string) bool {
	b := strings.TrimRight(before, " \t\r\n")
	if b == "" || strings.ContainsRune("(,+-*/%<>=|!", rune(b[len(b)-1])) {
		return true
	}
	i := len(b)
	for i > 0 && isWordByte(b[i-1]) {
		i--
	}
	switch strings.ToUpper(b[i:]) {
	case "CASE", "WHEN", "THEN", "ELSE", "AND", "OR", "NOT":
		return i == 0 || !isWordByte(b[i-1]) && b[i-1] != '.'
	}
	return false
}
