package blobimport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/blobimport"
	"github.com/weftdata/weft/internal/blobimport/blobtest"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) {
	blobtest.SetEnv()
	os.Exit(pgtest.Main(m))
}

// harness drives blob_import runs the way the runtime does (Prepare, then
// Perform until complete) over a real store, kv store and event writer.
// Notifications and log lines are recorded.
type harness struct {
	t   *testing.T
	db  *store.DB
	env *job.Env

	mu    sync.Mutex
	notes []job.Notification
	logs  bytes.Buffer
}

func newHarness(t *testing.T, backend string) *harness {
	t.Helper()
	db := dbtest.Open(t, backend)
	h := &harness{t: t, db: db}
	h.env = &job.Env{
		SharedKV: kv.New(db, nil),
		Events:   &event.Writer{In: event.NewIngester(db, nil)},
		Notify: notifyFunc(func(_ context.Context, n job.Notification) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.notes = append(h.notes, n)
			return nil
		}),
		Log: slog.New(slog.NewTextHandler(lockedWriter{h}, nil)),
	}
	return h
}

type notifyFunc func(context.Context, job.Notification) error

func (f notifyFunc) Notify(ctx context.Context, n job.Notification) error { return f(ctx, n) }

type lockedWriter struct{ h *harness }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return w.h.logs.Write(p)
}

func (h *harness) log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logs.String()
}

// lastNote returns the last notification.
func (h *harness) lastNote() job.Notification {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.notes) == 0 {
		h.t.Fatal("no notification")
	}
	return h.notes[len(h.notes)-1]
}

func (h *harness) newJob() job.Job {
	info, ok := job.Lookup(blobimport.Name)
	if !ok {
		h.t.Fatal("blob_import is not registered")
	}
	return info.New()
}

func (h *harness) invocation(params map[string]any) *job.Invocation {
	b, err := json.Marshal(params)
	if err != nil {
		h.t.Fatal(err)
	}
	return &job.Invocation{RunID: "run-1", Job: blobimport.Name, ScheduledAt: time.Now(), Parameters: b, Attempt: 1, Env: h.env}
}

// start prepares a fresh run and performs it n times.
func (h *harness) start(params map[string]any, n int) (job.Job, *job.Status) {
	h.t.Helper()
	ctx := context.Background()
	j := h.newJob()
	status, err := j.Prepare(ctx, h.invocation(params), nil, false)
	if err != nil {
		h.t.Fatal(err)
	}
	for range n {
		if status, err = j.Perform(ctx, status); err != nil {
			h.t.Fatal(err)
		}
	}
	return j, status
}

// run runs the job to completion and returns its final state and the
// states after each Perform.
func (h *harness) run(params map[string]any) (*blobimport.State, []*blobimport.State, error) {
	h.t.Helper()
	ctx := context.Background()
	j := h.newJob()
	status, err := j.Prepare(ctx, h.invocation(params), nil, false)
	if err != nil {
		return nil, nil, err
	}
	var steps []*blobimport.State
	for n := 0; !status.Complete; n++ {
		if n > 1000 {
			h.t.Fatal("the job does not complete")
		}
		if status, err = j.Perform(ctx, status); err != nil {
			return nil, steps, err
		}
		steps = append(steps, stateOf(h.t, status))
	}
	return steps[len(steps)-1], steps, nil
}

// mustRun runs the job and fails the test on error.
func (h *harness) mustRun(params map[string]any) *blobimport.State {
	h.t.Helper()
	st, _, err := h.run(params)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func stateOf(t *testing.T, status *job.Status) *blobimport.State {
	t.Helper()
	st, err := job.StateOf[blobimport.State](status)
	if err != nil {
		t.Fatal(err)
	}
	return &st
}

func remarshal(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

func (h *harness) events() int64 {
	h.t.Helper()
	st, err := h.db.Stats(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st.Events
}

func (h *harness) cursor(params map[string]any) blobimport.Cursor {
	h.t.Helper()
	rec, err := h.env.SharedKV.Get(context.Background(), blobimport.CursorKey(params["source"].(string), params["target"].(string)))
	if err != nil {
		h.t.Fatal(err)
	}
	var c blobimport.Cursor
	if err := remarshal(rec, &c); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// ev is an NDJSON event; n makes it distinct, and events without an id get
// a derived one.
func ev(n int) string {
	return fmt.Sprintf(`{"source_id":"crm","type":"store_visit","version":"1","event_time":"2026-01-01T00:00:%02dZ","payload":{"n":%d}}`, n%60, n)
}

func lines(from, to int) string {
	var b strings.Builder
	for n := from; n < to; n++ {
		b.WriteString(ev(n))
		b.WriteByte('\n')
	}
	return b.String()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// writeFile writes a file of a local source with the given modification
// time.
func writeFile(t *testing.T, dir, name, content string, mod time.Time) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func names(st *blobimport.State) []string {
	var out []string
	for _, f := range st.Files {
		out = append(out, f.Name)
	}
	return out
}

// TestLocalIncremental imports a local folder oldest file first, ties by
// name, one file per perform; a second run imports nothing, a new file is
// imported by the next run, and the cursor only moves forward.
func TestLocalIncremental(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			dir := t.TempDir()
			writeFile(t, dir, "b.ndjson", lines(0, 3), t0)                 // oldest
			writeFile(t, dir, "c.ndjson", lines(3, 5), t0.Add(time.Hour))  // tie with a, after it by name
			writeFile(t, dir, "a.ndjson", lines(5, 10), t0.Add(time.Hour)) // tie
			writeFile(t, dir, "sub/d.ndjson", lines(10, 11), t0.Add(30*time.Minute))
			writeFile(t, dir, ".tmp-upload", "not json", t0.Add(time.Minute)) // hidden: left out
			params := map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events"}

			st, steps, err := h.run(params)
			if err != nil {
				t.Fatal(err)
			}
			// list, then one file per perform, then the notification.
			if len(steps) != 6 {
				t.Fatalf("%d performs, want 6", len(steps))
			}
			if got, want := names(steps[0]), []string{"b.ndjson", "sub/d.ndjson", "a.ndjson", "c.ndjson"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("files %v, want %v", got, want)
			}
			for i, want := range []int{3, 2, 1, 0} {
				if got := len(steps[i+1].Files); got != want || steps[i+1].FilesDone != 4-want {
					t.Fatalf("after perform %d: %d files left, %d done", i+2, got, steps[i+1].FilesDone)
				}
			}
			if st.FilesDone != 4 || st.Records != 11 || st.Rejected != 0 || h.events() != 11 {
				t.Fatalf("state %+v, %d events", st, h.events())
			}
			if c := h.cursor(params); !c.ModTime.Equal(t0.Add(time.Hour)) || c.Name != "c.ndjson" {
				t.Fatalf("cursor %+v", c)
			}
			n := h.lastNote()
			if n.Level != job.LevelInfo || n.Activity != "Blob import" || !strings.Contains(n.Summary, "Imported 11 records from 4 files") ||
				!strings.Contains(n.Summary, "0 rows rejected") {
				t.Fatalf("notification %+v", n)
			}

			// A second run right after imports nothing.
			st, steps, err = h.run(params)
			if err != nil {
				t.Fatal(err)
			}
			if len(steps) != 2 || st.FilesDone != 0 || st.Records != 0 || h.events() != 11 {
				t.Fatalf("second run: %d performs, state %+v", len(steps), st)
			}
			if n := h.lastNote(); !strings.Contains(n.Summary, "Imported 0 records from 0 files") {
				t.Fatalf("notification %+v", n)
			}

			// A new file is imported; one older than the cursor (modified
			// in the past, or named before the file at the cursor's time)
			// is not: the cursor is a high-water mark.
			writeFile(t, dir, "e.ndjson", lines(11, 13), t0.Add(2*time.Hour))
			writeFile(t, dir, "late.ndjson", lines(20, 21), t0.Add(time.Minute))
			writeFile(t, dir, "b2.ndjson", lines(21, 22), t0.Add(time.Hour))
			st = h.mustRun(params)
			if st.FilesDone != 1 || st.Records != 2 || h.events() != 13 {
				t.Fatalf("third run: state %+v, %d events", st, h.events())
			}
			if c := h.cursor(params); !c.ModTime.Equal(t0.Add(2*time.Hour)) || c.Name != "e.ndjson" {
				t.Fatalf("cursor %+v", c)
			}
		})
	}
}

// TestCursorNeverMovesBackwards: a run that started before another moved
// the cursor further does not move it back when it finishes its files.
func TestCursorNeverMovesBackwards(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "duckdb")
	dir := t.TempDir()
	writeFile(t, dir, "a.ndjson", lines(0, 1), t0)
	writeFile(t, dir, "b.ndjson", lines(1, 2), t0.Add(time.Hour))
	params := map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events"}
	ctx := context.Background()

	slow, status := h.start(params, 1) // lists a and b
	h.mustRun(params)                  // another run imports both
	if c := h.cursor(params); c.Name != "b.ndjson" {
		t.Fatalf("cursor %+v", c)
	}
	if _, err := slow.Perform(ctx, status); err != nil { // imports a again
		t.Fatal(err)
	}
	if c := h.cursor(params); c.Name != "b.ndjson" || !c.ModTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("cursor moved back to %+v", c)
	}
	if h.events() != 2 {
		t.Fatalf("%d events, want 2", h.events())
	}
}

// TestResume interrupts a run between performs, and once inside a perform
// after the file's records were written (its checkpoint lost), and checks
// that the resumed run imports every row exactly once.
func TestResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "duckdb")
	dir := t.TempDir()
	for i := range 4 {
		writeFile(t, dir, fmt.Sprintf("f%d.ndjson", i), lines(i*100, i*100+100), t0.Add(time.Duration(i)*time.Minute))
	}
	params := map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events"}
	ctx := context.Background()

	j, status := h.start(params, 2) // list, f0
	// f1 is imported, but the worker dies before the checkpoint is stored.
	if _, err := j.Perform(ctx, status); err != nil {
		t.Fatal(err)
	}
	// A new worker resumes from the last checkpoint.
	j = h.newJob()
	status, err := j.Prepare(ctx, h.invocation(params), status, true)
	if err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, status); st.FilesDone != 1 || len(st.Files) != 3 || st.Files[0].Name != "f1.ndjson" {
		t.Fatalf("resumed state %+v", st)
	}
	for !status.Complete {
		if status, err = j.Perform(ctx, status); err != nil {
			t.Fatal(err)
		}
	}
	st := stateOf(t, status)
	if st.FilesDone != 4 || st.Records != 400 || h.events() != 400 {
		t.Fatalf("state %+v, %d events, want 400", st, h.events())
	}
}

// TestBadRows: rows that cannot be imported are skipped, counted and
// reported with file and line; the good rows beside them are imported.
func TestBadRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "duckdb")
	dir := t.TempDir()
	content := ev(1) + "\n" +
		"{not json\n" +
		"\n" +
		`{"source_id":"crm","version":"1","event_time":"2026-01-01T00:00:00Z","payload":{}}` + "\n" + // no type
		ev(2) + "\n" +
		"42\n" +
		ev(3) + "\n"
	writeFile(t, dir, "bad.ndjson", content, t0)
	params := map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events"}
	st := h.mustRun(params)
	if st.Records != 3 || st.Rejected != 3 || h.events() != 3 {
		t.Fatalf("state %+v, %d events", st, h.events())
	}
	want := []blobimport.Rejection{
		{File: "bad.ndjson", Line: 2, Reason: st.Rejections[0].Reason},
		{File: "bad.ndjson", Line: 4, Field: "type", Reason: "required"},
		{File: "bad.ndjson", Line: 6, Reason: st.Rejections[2].Reason},
	}
	if !reflect.DeepEqual(st.Rejections, want) || !strings.Contains(want[0].Reason, "invalid JSON") {
		t.Fatalf("rejections %+v", st.Rejections)
	}
	n := h.lastNote()
	if n.Level != job.LevelInfo || !strings.Contains(n.Summary, "Imported 3 records from 1 file of") || !strings.Contains(n.Summary, "3 rows rejected") ||
		!strings.Contains(n.Details, "bad.ndjson:4: type: required") {
		t.Fatalf("notification %+v", n)
	}
	if log := h.log(); !strings.Contains(log, "row rejected") || !strings.Contains(log, "file=bad.ndjson line=6") {
		t.Fatalf("log:\n%s", log)
	}
}

// TestUnreadableFile: a file that cannot be read fails the run with an
// error notification and leaves the cursor before it, so that the next
// run tries it again.
func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		prepare func(dir string)
		wantErr string
	}{
		{"broken JSON array", func(dir string) { writeFile(t, dir, "b.json", "[\n"+ev(5)+",\n{oops}\n]", t0.Add(time.Hour)) }, "line 3: invalid JSON"},
		{"deleted after listing", nil, "b.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, "duckdb")
			dir := t.TempDir()
			writeFile(t, dir, "a.json", "["+ev(1)+"]", t0)
			writeFile(t, dir, "b.json", "["+ev(2)+"]", t0.Add(time.Hour))
			writeFile(t, dir, "c.json", "["+ev(3)+"]", t0.Add(2*time.Hour))
			params := map[string]any{"source": "file://" + dir, "format": "json", "target": "events"}
			ctx := context.Background()
			j, status := h.start(params, 1) // list
			if tc.prepare != nil {
				tc.prepare(dir)
			} else if err := os.Remove(filepath.Join(dir, "b.json")); err != nil {
				t.Fatal(err)
			}
			var err error
			for err == nil && !status.Complete {
				status, err = j.Perform(ctx, status)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			n := h.lastNote()
			if n.Level != job.LevelError || n.Activity != "Blob import" || n.Title != "Cannot import b.json" || !strings.Contains(n.Summary, tc.wantErr) ||
				!strings.Contains(n.Summary, "1 record imported from 1 file") {
				t.Fatalf("notification %+v", n)
			}
			if c := h.cursor(params); c.Name != "a.json" {
				t.Fatalf("cursor %+v, want a.json", c)
			}
		})
	}
}

// TestBadParams: Prepare refuses bad parameters with an error naming the
// parameter, and says so in the activity log.
func TestBadParams(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "duckdb")
	_, err := h.newJob().Prepare(context.Background(), h.invocation(map[string]any{"source": "ftp://x/y", "format": "ndjson", "target": "events"}), nil, false)
	if err == nil || err.Error() != `parameter source: unsupported scheme "ftp" (use file, s3 or azblob)` {
		t.Fatalf("error %v", err)
	}
	if n := h.lastNote(); n.Level != job.LevelError || n.Title != "Bad parameters" {
		t.Fatalf("notification %+v", n)
	}
	_, err = h.newJob().Prepare(context.Background(), h.invocation(map[string]any{"source": "s3://b/x?nonsense=1", "format": "ndjson", "target": "events"}), nil, false)
	if err == nil || !strings.Contains(err.Error(), `unknown query parameter "nonsense"`) {
		t.Fatalf("error %v", err)
	}
	// A runtime that does not provide what the target needs.
	inv := h.invocation(map[string]any{"source": "file:///tmp", "format": "ndjson", "target": "objects:stores"})
	if _, err = h.newJob().Prepare(context.Background(), inv, nil, false); err == nil || !strings.Contains(err.Error(), "needs the object store") {
		t.Fatalf("error %v", err)
	}
}

// TestFormatsAndMapping imports CSV and JSON files into events through a
// mapping; the CSV's bad rows are reported by line.
func TestFormatsAndMapping(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "duckdb")
	dir := t.TempDir()
	writeFile(t, dir, "orders.csv", "Order,When,Total,Email\n"+
		"o1,2026-02-01T10:00:00Z,12.50,ann@example.com\n"+
		"o2,2026-02-01T11:00:00Z,oops,bob@example.com\n"+
		"o3,2026-02-01T12:00:00Z,7\n"+
		"\"o4\",2026-02-01T13:00:00Z,1e2,\"c@example.com\"\n", t0)
	mapping := map[string]any{
		"id":            "Order",
		"source_id":     map[string]any{"value": "shop"},
		"type":          map[string]any{"value": "purchase"},
		"version":       map[string]any{"value": "1"},
		"event_time":    "When",
		"payload.total": map[string]any{"field": "Total", "type": "number"},
		"payload.email": "Email",
	}
	st := h.mustRun(map[string]any{"source": "file://" + dir, "format": "csv", "target": "events", "mapping": mapping})
	if st.Records != 2 || st.Rejected != 2 || h.events() != 2 {
		t.Fatalf("state %+v", st)
	}
	if r := st.Rejections; r[0].Line != 3 || r[0].Reason != `field Total: "oops" is not a number` || r[1].Line != 4 || !strings.Contains(r[1].Reason, "3 fields, the header has 4") {
		t.Fatalf("rejections %+v", r)
	}
	events, err := h.db.EventList(context.Background(), &store.EventListParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range events {
		got[e.ID] = string(e.Payload)
	}
	if want := map[string]string{"o1": `{"email":"ann@example.com","total":12.50}`, "o4": `{"email":"c@example.com","total":1e2}`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v", got)
	}

	// A JSON array of records already shaped as events, and a mapping
	// reading nested fields.
	dir2 := t.TempDir()
	writeFile(t, dir2, "visits.json", "[\n  "+ev(1)+",\n  "+ev(2)+"\n]\n", t0)
	st = h.mustRun(map[string]any{"source": "file://" + dir2, "format": "json", "target": "events"})
	if st.Records != 2 || h.events() != 4 {
		t.Fatalf("state %+v", st)
	}
	dir3 := t.TempDir()
	writeFile(t, dir3, "nested.json", `[{"meta":{"at":"2026-02-02T00:00:00Z","kind":"signup"},"who":{"email":"d@example.com"}}]`, t0)
	st = h.mustRun(map[string]any{"source": "file://" + dir3, "format": "json", "target": "events", "mapping": map[string]any{
		"source_id": map[string]any{"value": "web"}, "version": map[string]any{"value": "1"},
		"type": "meta.kind", "event_time": "meta.at", "payload": "who",
	}})
	if st.Records != 1 || st.Rejected != 0 || h.events() != 5 {
		t.Fatalf("state %+v", st)
	}
}

// TestResumeCheckpointOfOldBuild resumes a run from a checkpoint as the
// builds before typed states stored it (the state round-tripped through a
// map: keys sorted, numbers as JSON numbers) and imports what was left.
func TestResumeCheckpointOfOldBuild(t *testing.T) {
	t.Parallel()
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, backend)
			dir := t.TempDir()
			writeFile(t, dir, "a.ndjson", ev(1)+"\n", t0)
			writeFile(t, dir, "b.ndjson", ev(2)+"\n"+ev(3)+"\n", t0.Add(time.Minute))
			old := `{"cursor":{"mod_time":"0001-01-01T00:00:00Z","name":""},"files":[{"mod_time":"` + t0.Add(time.Minute).Format(time.RFC3339Nano) +
				`","name":"b.ndjson","size":10}],"files_done":1,"phase":"import","records":1,"rejected":0}`
			params := map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events"}
			j := h.newJob()
			status, err := j.Prepare(context.Background(), h.invocation(params), &job.Status{State: json.RawMessage(old)}, true)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; !status.Complete; n++ {
				if n > 10 {
					t.Fatal("the run does not complete")
				}
				if status, err = j.Perform(context.Background(), status); err != nil {
					t.Fatal(err)
				}
			}
			if st := stateOf(t, status); st.FilesDone != 2 || st.Records != 3 || len(st.Files) != 0 || h.events() != 2 {
				t.Fatalf("state %+v, %d events", st, h.events())
			}
		})
	}
}
