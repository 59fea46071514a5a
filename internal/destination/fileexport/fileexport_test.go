package fileexport_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // read_parquet in a DuckDB of the test's own
	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/blobimport/blobtest"
	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/destination/fileexport"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) {
	blobtest.SetEnv()
	os.Exit(pgtest.Main(m))
}

// baseConfig declares two identifier categories, an attribute of each
// data type, a list, the consent attribute marketing and a segment.
const baseConfig = `stitching:
  rules:
    - {identifier: email, event: crm/update, value_expression: "payload->>'email'"}
    - {identifier: phone, event: crm/update, value_expression: "payload->>'phone'"}
attributes:
  - {id: name, type: last, value: "payload->>'name'"}
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
  - {id: visits, type: last, data_type: int, value: "payload->>'visits'"}
  - {id: vip, type: last, data_type: bool, value: "payload->>'vip'"}
  - {id: first_seen, type: first, data_type: date, value: "payload->>'day'"}
  - {id: last_seen, type: last, data_type: datetime, value: "payload->>'at'"}
  - {id: tags, type: list, value: "payload->>'tag'"}
  - {id: marketing, type: last, data_type: bool, value: "payload->>'marketing'"}
segments:
  - {id: vips, name: VIPs, condition: {attribute: vip, op: "=", value: true}}
`

// allAttributes are the attributes the tests export, in their order.
var allAttributes = []string{"name", "spend", "visits", "vip", "first_seen", "last_seen", "tags"}

// person is a profile of the fixture, with its values as stored (text).
type person struct {
	id          string
	identifiers map[string][]string
	attributes  map[string][]string
}

// people are n profiles covering the cases: one and several
// identifiers of a category and none, text that CSV must quote, missing
// values, lists, consent given, refused and missing.
func people(n int) []person {
	out := make([]person, n)
	for i := range out {
		p := person{id: fmt.Sprintf("e%05d", i), identifiers: map[string][]string{}, attributes: map[string][]string{}}
		p.identifiers["email"] = []string{fmt.Sprintf("p%d@example.com", i)}
		switch i % 3 {
		case 0:
			p.identifiers["phone"] = []string{fmt.Sprintf("+1555%04d", i), fmt.Sprintf("+1666%04d", i)}
		case 1:
			p.identifiers["phone"] = []string{fmt.Sprintf("+1555%04d", i)}
		}
		switch {
		case i%5 == 0:
			p.attributes["name"] = []string{fmt.Sprintf("Person %d, \"the %dth\"\nsecond line", i, i)}
		case i%7 != 6:
			p.attributes["name"] = []string{fmt.Sprintf("Person %d", i)}
		}
		p.attributes["spend"] = []string{strconv.FormatFloat(float64(i)*1.25, 'f', -1, 64)}
		p.attributes["visits"] = []string{strconv.Itoa(i * 3)}
		p.attributes["vip"] = []string{strconv.FormatBool(i%2 == 0)}
		p.attributes["first_seen"] = []string{fmt.Sprintf("2026-01-%02d", i%28+1)}
		p.attributes["last_seen"] = []string{fmt.Sprintf("2026-02-%02d 10:%02d:05+00", i%28+1, i%60)}
		switch i % 4 {
		case 0:
			p.attributes["tags"] = []string{"a", "b"}
		case 1:
			p.attributes["tags"] = []string{"c"}
		}
		switch {
		case i%10 == 9: // no value: no consent
		case i%3 == 2:
			p.attributes["marketing"] = []string{"false"}
		default:
			p.attributes["marketing"] = []string{"true"}
		}
		out[i] = p
	}
	return out
}

func (p *person) vip() bool { return p.attributes["vip"][0] == "true" }
func (p *person) consents() bool {
	m := p.attributes["marketing"]
	return len(m) == 1 && m[0] == "true"
}

// load writes the people into the store as stitching, the attribute
// engine and the segments job would have (the segments job is another
// package's): live entities, one merged entity that no export may show,
// identifiers, values and the members of vips.
func load(t *testing.T, db *store.DB, ps []person) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := db.InTx(ctx, func(tx store.ExecutorTx) error {
		exec := func(q string, args ...any) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		}
		for i, p := range ps {
			if err := exec("INSERT INTO entities (id, created_seq, created_at, modified_at) VALUES ($1, $2, $3, $3)", p.id, i+1, now); err != nil {
				return err
			}
			for cat, vs := range p.identifiers {
				for _, v := range vs {
					if err := exec("INSERT INTO identifiers (category, value, entity_id, first_seq) VALUES ($1, $2, $3, $4)", cat, v, p.id, i+1); err != nil {
						return err
					}
				}
			}
			for a, vs := range p.attributes {
				for _, v := range vs {
					if err := exec("INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at) VALUES ($1, $2, $3, $4)", p.id, a, v, now); err != nil {
						return err
					}
				}
			}
			if p.vip() {
				if err := exec("INSERT INTO segment_members (segment_id, entity_id, entered_at) VALUES ('vips', $1, $2)", p.id, now); err != nil {
					return err
				}
			}
		}
		if err := exec("INSERT INTO entities (id, created_seq, created_at, modified_at, merged_into) VALUES ('merged', 0, $1, $1, $2)", now, ps[0].id); err != nil {
			return err
		}
		if err := exec("INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at) VALUES ('merged', 'name', 'gone', $1)", now); err != nil {
			return err
		}
		return store.ComputeEntityKeys(ctx, tx, db.Capabilities())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// change is a membership change of vips, as the segments job records it.
type change struct {
	entity, change string
	at             time.Time
}

func recordChanges(t *testing.T, db *store.DB, changes []change) {
	t.Helper()
	for _, c := range changes {
		if _, err := db.ExecContext(context.Background(), "INSERT INTO segment_changes (segment_id, entity_id, change, changed_at, run_id) VALUES ('vips', $1, $2, $3, 'seg-run')",
			c.entity, c.change, c.at); err != nil {
			t.Fatal(err)
		}
	}
}

// harness runs a destination's job the way the runtime does: Prepare,
// then Perform until complete, over a real store.
type harness struct {
	t       *testing.T
	db      *store.DB
	cfg     *config.Config
	folders []string
	runs    int
}

func newHarness(t *testing.T, db *store.DB, destinations string) *harness {
	t.Helper()
	return &harness{t: t, db: db, cfg: parseConfig(t, destinations)}
}

// parseConfig is baseConfig with the destinations.
func parseConfig(t testing.TB, destinations string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(baseConfig + "destinations:\n" + destinations))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (h *harness) deps() *destination.Deps {
	return &destination.Deps{DB: h.db, ExportFolders: h.folders, Config: func(context.Context) (*destination.InForce, error) {
		return &destination.InForce{Destinations: h.cfg.Destinations, Attributes: h.cfg.Attributes}, nil
	}}
}

func (h *harness) invocation(id string) *job.Invocation {
	h.runs++
	return &job.Invocation{RunID: fmt.Sprintf("run%d", h.runs), Job: destination.JobName(id), Attempt: 1,
		ScheduledAt: time.Date(2026, 3, 1, 12, 0, h.runs, 0, time.UTC),
		Parameters:  json.RawMessage(`{"destination":"` + id + `"}`), Env: &job.Env{Log: slog.New(slog.DiscardHandler)}}
}

// run runs the destination's job to its end and returns its state.
func (h *harness) run(id string) fileexport.State {
	h.t.Helper()
	st, err := h.tryRun(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) tryRun(id string) (fileexport.State, error) {
	ctx := context.Background()
	j := fileexport.Info(h.deps()).New()
	defer j.(io.Closer).Close()
	status, err := j.Prepare(ctx, h.invocation(id), nil, false)
	for err == nil && !status.Complete {
		status, err = j.Perform(ctx, status)
	}
	if err != nil {
		return fileexport.State{}, err
	}
	return job.StateOf[fileexport.State](status)
}

// runDying runs the destination's job until its file is written, not
// further: a run that dies before it records what it wrote.
func (h *harness) runDying(id string) fileexport.State {
	h.t.Helper()
	ctx := context.Background()
	j := fileexport.Info(h.deps()).New()
	defer j.(io.Closer).Close()
	status, err := j.Prepare(ctx, h.invocation(id), nil, false)
	if err == nil {
		status, err = j.Perform(ctx, status)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := job.StateOf[fileexport.State](status)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// expected is the record of a person as a file holds it: identifiers and
// attributes typed, a list where the format says so (Parquet: always for
// identifiers and list attributes).
func expected(p person, cats, attrs []string, parquet bool) map[string]any {
	rec := map[string]any{"entity_id": p.id}
	if len(cats) > 0 {
		ids := map[string]any{}
		for _, c := range cats {
			vs := p.identifiers[c]
			switch {
			case vs == nil:
				ids[c] = nil
			case len(vs) == 1 && !parquet:
				ids[c] = vs[0]
			default:
				ids[c] = vs
			}
		}
		rec["identifiers"] = ids
	}
	if len(attrs) > 0 {
		as := map[string]any{}
		for _, a := range attrs {
			as[a] = typedValue(a, p.attributes[a], parquet)
		}
		rec["attributes"] = as
	}
	return rec
}

// typedValue is an attribute's stored text as its data type: what
// NDJSON holds, or Parquet read back as JSON by DuckDB (datetimes in its
// text form).
func typedValue(a string, vs []string, parquet bool) any {
	if vs == nil {
		return nil
	}
	conv := func(v string) any {
		switch a {
		case "spend":
			f, _ := strconv.ParseFloat(v, 64)
			return f
		case "visits":
			n, _ := strconv.Atoi(v)
			return n
		case "vip":
			return v == "true"
		case "last_seen":
			tm, _ := time.Parse("2006-01-02 15:04:05-07", v)
			if parquet {
				return tm.UTC().Format("2006-01-02 15:04:05+00")
			}
			return tm.UTC().Format(time.RFC3339)
		}
		return v
	}
	if a == "tags" {
		out := make([]any, len(vs))
		for i, v := range vs {
			out[i] = conv(v)
		}
		return out
	}
	return conv(vs[0])
}

// normalize gives a value the types a JSON decoder gives it.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// readNDJSON decodes a file's lines.
func readNDJSON(t *testing.T, body []byte) []any {
	t.Helper()
	var out []any
	for _, line := range bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

// readParquet reads a Parquet file back with DuckDB's read_parquet, in an
// in-memory DuckDB of the test's own, each row as JSON.
func readParquet(t *testing.T, body []byte) []any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "read.parquet")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT CAST(to_json(t) AS TEXT) FROM read_parquet('" + path + "') t")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// csvRecord is a record as the CSV file holds it: the header's columns,
// text as it is, numbers, booleans and lists as JSON, nothing empty.
func csvRecord(t *testing.T, rec map[string]any, header []string) []string {
	t.Helper()
	out := make([]string, len(header))
	for i, h := range header {
		var v any
		if group, name, ok := strings.Cut(h, "."); ok {
			v = rec[group].(map[string]any)[name]
		} else {
			v = rec[h]
		}
		switch v := v.(type) {
		case nil:
		case string:
			out[i] = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = string(b)
		}
	}
	return out
}

// checkFile compares a file of a format with the expected records, in
// order.
func checkFile(t *testing.T, format string, body []byte, want []map[string]any) {
	t.Helper()
	switch format {
	case fileexport.FormatCSV:
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v\n%s", err, body)
		}
		if len(rows) == 0 {
			t.Fatal("csv: no header row")
		}
		header := rows[0]
		if len(rows)-1 != len(want) {
			t.Fatalf("csv: %d rows, want %d", len(rows)-1, len(want))
		}
		for i, w := range want {
			if exp := csvRecord(t, w, header); !reflect.DeepEqual(rows[i+1], exp) {
				t.Fatalf("csv row %d:\n got %q\nwant %q", i+1, rows[i+1], exp)
			}
		}
	case fileexport.FormatNDJSON, fileexport.FormatParquet:
		var got []any
		if format == fileexport.FormatNDJSON {
			got = readNDJSON(t, body)
		} else {
			got = readParquet(t, body)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", format, len(got), len(want))
		}
		for i, w := range want {
			if exp := normalize(t, w); !reflect.DeepEqual(got[i], exp) {
				t.Fatalf("%s record %d:\n got %v\nwant %v", format, i, got[i], exp)
			}
		}
	}
}

// targetKind is where a test writes: a local folder, s3rver or Azurite.
type targetKind string

const (
	toFolder  targetKind = "folder"
	toS3      targetKind = "s3"
	toAzurite targetKind = "azurite"
)

// openTarget returns a target URL of the kind and a function that reads
// a file key of it.
func openTarget(t *testing.T, kind targetKind) (string, func(key string) ([]byte, error), func(prefix string) []string) {
	t.Helper()
	var url string
	switch kind {
	case toFolder:
		url = "file://" + filepath.ToSlash(t.TempDir())
	case toS3:
		s := blobtest.S3(t)
		s.Bucket(t, "exports")
		url = s.SourceURL("exports", "weft/out")
	case toAzurite:
		s := blobtest.Azurite(t)
		s.Bucket(t, "exports")
		url = s.SourceURL("exports", "weft/out")
	}
	b, err := bucket.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	read := func(key string) ([]byte, error) { return b.ReadAll(context.Background(), key) }
	list := func(prefix string) []string {
		var keys []string
		it := b.List(&blob.ListOptions{Prefix: prefix})
		for {
			obj, err := it.Next(context.Background())
			if err == io.EOF {
				return keys
			}
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, obj.Key)
		}
	}
	return url, read, list
}

var formats = []string{fileexport.FormatCSV, fileexport.FormatNDJSON, fileexport.FormatParquet}

// TestSnapshot: every profile and a segment's members with consent, in
// each format, to a folder, s3rver and Azurite, on both backends, read
// back and compared with the fixture; the merged entity never appears.
func TestSnapshot(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			db := dbtest.Open(t, backend)
			ps := people(60)
			load(t, db, ps)
			for _, kind := range []targetKind{toFolder, toS3, toAzurite} {
				t.Run(string(kind), func(t *testing.T) {
					url, read, list := openTarget(t, kind)
					var dests strings.Builder
					for _, f := range formats {
						fmt.Fprintf(&dests, "  - {id: all_%s, type: file_export, target: %q, format: %s, identifiers: [email, phone], attributes: [%s]}\n",
							f, url, f, strings.Join(allAttributes, ", "))
						fmt.Fprintf(&dests, "  - {id: vips_%s, type: file_export, target: %q, format: %s, segment: vips, mode: snapshot, consent: marketing, attributes: [spend, tags, last_seen]}\n",
							f, url, f)
					}
					h := newHarness(t, db, dests.String())
					for _, f := range formats {
						var all, vips []map[string]any
						for _, p := range ps {
							all = append(all, expected(p, []string{"email", "phone"}, allAttributes, f == fileexport.FormatParquet))
							if p.vip() && p.consents() {
								vips = append(vips, expected(p, nil, []string{"spend", "tags", "last_seen"}, f == fileexport.FormatParquet))
							}
						}
						for id, want := range map[string][]map[string]any{"all_" + f: all, "vips_" + f: vips} {
							st := h.run(id)
							if st.Rows != int64(len(want)) {
								t.Errorf("%s: %d rows, want %d", id, st.Rows, len(want))
							}
							if keys := list(id + "/"); !reflect.DeepEqual(keys, []string{st.File}) {
								t.Fatalf("%s: files %v, want %s alone", id, keys, st.File)
							}
							if !strings.HasPrefix(st.File, id+"/20260301T120") || !strings.HasSuffix(st.File, "."+f) {
								t.Errorf("%s: file %s", id, st.File)
							}
							body, err := read(st.File)
							if err != nil {
								t.Fatal(err)
							}
							checkFile(t, f, body, want)
						}
					}
				})
			}
		})
	}
}

// TestParquetWriters: on DuckDB, the engine's writer and the Go writer
// (PostgreSQL's) write files that read back the same.
func TestParquetWriters(t *testing.T) {
	db := dbtest.Open(t, "duckdb")
	ps := people(40)
	load(t, db, ps)
	url, read, _ := openTarget(t, toFolder)
	h := newHarness(t, db, fmt.Sprintf("  - {id: pq, type: file_export, target: %q, format: parquet, identifiers: [phone, email], attributes: [%s]}\n",
		url, strings.Join(allAttributes, ", ")))
	var want []map[string]any
	for _, p := range ps {
		want = append(want, expected(p, []string{"phone", "email"}, allAttributes, true))
	}
	for _, engine := range []bool{true, false} {
		restore := fileexport.SetEngineParquet(engine)
		st := h.run("pq")
		restore()
		body, err := read(st.File)
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, fileexport.FormatParquet, body, want)
	}
}

// TestChanges: mode changes writes the segment's changes after the
// cursor, in order, with the profile's values; nothing new, no file; the
// cursor moves only once the file is committed, so a run that dies
// before writes the same changes again.
func TestChanges(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			db := dbtest.Open(t, backend)
			ps := people(20)
			load(t, db, ps)
			url, read, list := openTarget(t, toFolder)
			h := newHarness(t, db, fmt.Sprintf("  - {id: moves, type: file_export, target: %q, format: ndjson, segment: vips, mode: changes, consent: marketing, identifiers: [email], attributes: [spend]}\n", url))
			t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
			// e00009 has no consent: its change is not written.
			first := []change{{"e00000", "entered", t0}, {"e00004", "entered", t0.Add(time.Second)}, {"e00009", "entered", t0.Add(2 * time.Second)}, {"e00004", "exited", t0.Add(3 * time.Second)}}
			recordChanges(t, db, first)
			want := func(cs []change) []map[string]any {
				var out []map[string]any
				for _, c := range cs {
					var p person
					for _, q := range ps {
						if q.id == c.entity {
							p = q
						}
					}
					if !p.consents() {
						continue
					}
					rec := expected(p, []string{"email"}, []string{"spend"}, false)
					rec["change"], rec["changed_at"] = c.change, c.at.Format(time.RFC3339)
					out = append(out, rec)
				}
				return out
			}
			check := func(st fileexport.State, cs []change) {
				t.Helper()
				body, err := read(st.File)
				if err != nil {
					t.Fatal(err)
				}
				checkFile(t, fileexport.FormatNDJSON, body, want(cs))
			}
			st := h.run("moves")
			check(st, first)

			// A run that wrote its file but died before moving the cursor:
			// the next run writes the same changes again.
			ctx := context.Background()
			more := []change{{"e00002", "entered", t0.Add(time.Hour)}, {"e00000", "exited", t0.Add(2 * time.Hour)}}
			recordChanges(t, db, more)
			died := h.runDying("moves")
			check(died, more)
			again := h.run("moves")
			check(again, more)
			if again.File == died.File {
				t.Errorf("a new run wrote the same file %s", again.File)
			}

			// Nothing new: no file.
			before := list("moves/")
			if st := h.run("moves"); st.File != "" || st.Rows != 0 {
				t.Errorf("a run without changes wrote %+v", st)
			}
			if after := list("moves/"); !reflect.DeepEqual(before, after) {
				t.Errorf("files %v, then %v", before, after)
			}
			var cursor int64
			if err := db.QueryRowContext(ctx, "SELECT segment_seq FROM destination_cursors WHERE destination_id = 'moves'").Scan(&cursor); err != nil || cursor != again.ToSeq || again.FromSeq != st.ToSeq {
				t.Errorf("cursor %d (%v); runs covered (%d, %d] then (%d, %d]", cursor, err, st.FromSeq, st.ToSeq, again.FromSeq, again.ToSeq)
			}
		})
	}
}

// TestResume: a run resumed after a crash in its write step writes the
// same file name again, over no partial file.
func TestResume(t *testing.T) {
	db := dbtest.Open(t, "duckdb")
	load(t, db, people(10))
	dir := t.TempDir()
	h := newHarness(t, db, fmt.Sprintf("  - {id: snap, type: file_export, target: %q, format: csv, attributes: [spend]}\n", "file://"+filepath.ToSlash(dir)))
	ctx := context.Background()
	inv := h.invocation("snap")
	j := fileexport.Info(h.deps()).New()
	status, err := j.Prepare(ctx, inv, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	j.(io.Closer).Close()
	st, _ := job.StateOf[fileexport.State](status)
	// What a run killed while writing leaves: a hidden partial file.
	partial := filepath.Join(dir, "snap", "."+filepath.Base(st.File)+".partial")
	if err := os.MkdirAll(filepath.Dir(partial), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(partial, []byte("entity_id\ne0"), 0o644); err != nil {
		t.Fatal(err)
	}
	j = fileexport.Info(h.deps()).New()
	defer j.(io.Closer).Close()
	status, err = j.Prepare(ctx, inv, status, true)
	for err == nil && !status.Complete {
		status, err = j.Perform(ctx, status)
	}
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "snap"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(st.File) {
		t.Fatalf("files %v, want %s alone", entries, filepath.Base(st.File))
	}
	body, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(st.File)))
	if err != nil || strings.Count(string(body), "\n") != 11 {
		t.Fatalf("the file holds %q (%v), want a header and 10 rows", body, err)
	}
}

// TestFolders: a file:// target outside the export folders is refused
// when a run is checked or starts, naming the field; inside, it runs.
func TestFolders(t *testing.T) {
	db := dbtest.Open(t, "duckdb")
	load(t, db, people(3))
	allowed := t.TempDir()
	inside := "file://" + filepath.ToSlash(filepath.Join(allowed, "crm"))
	outside := "file://" + filepath.ToSlash(t.TempDir())
	escape := "file://" + filepath.ToSlash(allowed) + "/../elsewhere"
	h := newHarness(t, db, fmt.Sprintf("  - {id: inside, type: file_export, target: %q, format: csv}\n  - {id: outside, type: file_export, target: %q, format: csv}\n  - {id: escape, type: file_export, target: %q, format: csv}\n", inside, outside, escape))
	h.folders = []string{allowed}
	if st := h.run("inside"); st.Rows != 3 {
		t.Errorf("inside wrote %+v", st)
	}
	for _, id := range []string{"outside", "escape"} {
		_, err := h.tryRun(id)
		if err == nil || !strings.Contains(err.Error(), "destinations["+id+"].target: ") || !strings.Contains(err.Error(), "outside the folders this server may export to") {
			t.Errorf("%s: %v", id, err)
		}
		info := fileexport.Info(h.deps())
		if err := info.ValidateParams(context.Background(), json.RawMessage(`{"destination":"`+id+`"}`)); err == nil {
			t.Errorf("%s: parameters accepted", id)
		}
	}
	if err := fileexport.CheckFolder("s3://bucket/x", []string{allowed}); err != nil {
		t.Errorf("an s3 target: %v", err)
	}
}

// TestValidation: a bad file_export is refused when the config is
// parsed, naming the destination and the field; nothing else is.
func TestValidation(t *testing.T) {
	for _, tc := range []struct{ dest, want string }{
		{`{id: x, type: file_export, format: csv}`, "destinations[x].target: is required"},
		{`{id: x, type: file_export, target: "ftp://host/dir", format: csv}`, `destinations[x].target: unsupported scheme "ftp"`},
		{`{id: x, type: file_export, target: "/var/out", format: csv}`, "destinations[x].target: \"/var/out\" has no scheme"},
		{`{id: x, type: file_export, target: "s3://b/x", format: xml}`, `destinations[x].format: "xml" must be csv, ndjson or parquet`},
		{`{id: x, type: file_export, target: "s3://b/x"}`, "destinations[x].format: is required"},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, mode: delta}`, `destinations[x].mode: "delta" must be snapshot`},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, segment: whales}`, `destinations[x].segment: no segment "whales" is declared under segments (known: vips)`},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, url: "https://a.example"}`, "destinations[x].url: belongs to webhook destinations"},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, segments: [vips]}`, "destinations[x].segments: belongs to webhook destinations"},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, attributes: [spent]}`, `destinations[x].attributes[0]: no attribute "spent"`},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, identifiers: [fax]}`, `destinations[x].identifiers[0]: "fax" is not an identifier category`},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, consent: spend}`, "destinations[x].consent: attribute spend is a float"},
		{`{id: x, type: file_export, target: "s3://b/x", format: csv, cron: "every night"}`, "destinations[x].cron: "},
	} {
		_, err := config.Parse([]byte(baseConfig + "destinations:\n  - " + tc.dest + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.dest, err, tc.want)
		}
	}
	ok := `{id: nightly_export, type: file_export, target: "s3://bucket/weft/", format: parquet, segment: vips, mode: snapshot, cron: "0 0 2 * * ?", consent: marketing, identifiers: [email], attributes: [spend, tags]}`
	if _, err := config.Parse([]byte(baseConfig + "destinations:\n  - " + ok + "\n")); err != nil {
		t.Errorf("a good destination: %v", err)
	}
}

// TestProfileChanges: mode changes without a segment writes the profiles
// whose chosen values changed since they were last written (all of them
// the first time), with consent; nothing changed, no file; a run that
// died after writing its file leaves them queued, and the next run writes
// them again.
func TestProfileChanges(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			db := dbtest.Open(t, backend)
			ps := people(20)
			load(t, db, ps)
			url, read, list := openTarget(t, toFolder)
			h := newHarness(t, db, fmt.Sprintf("  - {id: changed, type: file_export, target: %q, format: csv, mode: changes, consent: marketing, identifiers: [email], attributes: [spend, tags]}\n", url))
			want := func(ids ...string) []map[string]any {
				var out []map[string]any
				for _, p := range ps {
					if p.consents() && (ids == nil || slices.Contains(ids, p.id)) {
						out = append(out, expected(p, []string{"email"}, []string{"spend", "tags"}, false))
					}
				}
				return out
			}
			check := func(st fileexport.State, w []map[string]any) {
				t.Helper()
				body, err := read(st.File)
				if err != nil {
					t.Fatal(err)
				}
				checkFile(t, fileexport.FormatCSV, body, w)
			}
			check(h.run("changed"), want())
			if st := h.run("changed"); st.File != "" || st.Rows != 0 {
				t.Errorf("a run without changes wrote %+v", st)
			}

			// e00001's spend and e00003's tags change (e00002 has no
			// consent: its change is not written).
			ctx := context.Background()
			for _, q := range []string{
				"UPDATE customer_attributes SET value = '99.5' WHERE entity_id IN ('e00001', 'e00002') AND attribute_id = 'spend'",
				"INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at) VALUES ('e00003', 'tags', 'z', now())",
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			ps[1].attributes["spend"] = []string{"99.5"}
			ps[3].attributes["tags"] = []string{"z"}
			died := h.runDying("changed")
			check(died, want("e00001", "e00003"))
			check(h.run("changed"), want("e00001", "e00003"))
			before := list("changed/")
			if st := h.run("changed"); st.File != "" {
				t.Errorf("a run after the changes were written wrote %+v", st)
			}
			if after := list("changed/"); len(after) != len(before) || len(after) != 3 {
				t.Errorf("files %v, then %v; want 3", before, after)
			}
		})
	}
}
