package blobimport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/job"
)

// Name is the job's registered name.
const Name = "blob_import"

// Activity is the activity-log category of the job's notifications.
const Activity = "Blob import"

// Caps on what is reported about rejected rows: every one is counted, the
// first MaxLoggedRejections of each file are logged, and the first
// MaxReportedRejections of a run are kept in its state for the final
// notification.
const (
	MaxLoggedRejections   = 100
	MaxReportedRejections = 20
)

func init() {
	info := job.Typed[Args, State](Name,
		"Import new files of a folder in blob storage (file, S3, Azure) into the event log or a custom object type",
		func() *Job { return new(Job) })
	// A Perform imports a whole file, however large: OCP's 60 s would
	// cancel big files for ever.
	info.PerformTimeout = job.NoPerformTimeout
	job.Register(info)
}

// Phase is a step of the job's state machine.
type Phase string

// The phases, in order.
const (
	PhaseList     Phase = "list"
	PhaseImport   Phase = "import"
	PhaseComplete Phase = "complete"
)

// State is the job's checkpoint.
type State struct {
	Phase Phase `json:"phase"`
	// Cursor is where the run started.
	Cursor Cursor `json:"cursor"`
	// Files are still to import, in order.
	Files []File `json:"files"`
	// FilesDone, Records (imported) and Rejected (rows skipped) count the
	// run so far; Rejections are the first rejected rows.
	FilesDone  int         `json:"files_done"`
	Records    int64       `json:"records"`
	Rejected   int64       `json:"rejected"`
	Rejections []Rejection `json:"rejections,omitempty"`
}

// Rejection is a row that was skipped.
type Rejection struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (r Rejection) String() string {
	if r.Field != "" {
		return fmt.Sprintf("%s:%d: %s: %s", r.File, r.Line, r.Field, r.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Reason)
}

// Job imports a folder's new files, one per Perform.
type Job struct {
	inv       *job.Invocation
	params    *Params
	bucket    *blob.Bucket
	cursorKey string
}

var (
	_ job.Worker[Args, State]   = (*Job)(nil)
	_ job.ParamsValidator[Args] = (*Job)(nil)
	_ job.Closer                = (*Job)(nil)
)

// ValidateParams checks parameters when a configuration declaring the job
// is applied or a run is triggered; Prepare checks them again and opens
// the source.
func (j *Job) ValidateParams(ctx context.Context, a Args) error {
	p, err := ParseParams(a)
	if err == nil {
		err = checkFolder(job.EnvFrom(ctx), p)
	}
	return err
}

// Prepare checks the parameters, opens the source (the runtime closes it
// through Close when the run ends) and, for a fresh run, reads the
// cursor.
func (j *Job) Prepare(ctx context.Context, inv *job.Invocation, a Args, st *State, resuming bool) (bool, error) {
	j.inv = inv
	p, err := ParseParams(a)
	if err != nil {
		j.notifyFailure(ctx, "Bad parameters", err, nil)
		return false, err
	}
	j.params = p
	if err := checkEnv(inv.Env, p); err != nil {
		j.notifyFailure(ctx, "Not set up", err, nil)
		return false, err
	}
	j.cursorKey = CursorKey(p.Source, p.Target)
	if j.bucket, err = openBucket(ctx, p); err != nil {
		j.notifyFailure(ctx, "Cannot open the source", err, nil)
		return false, err
	}
	if resuming {
		j.log().Info("resuming the run", "resuming", true, "phase", st.Phase, "files_done", st.FilesDone, "files_left", len(st.Files))
		return false, nil
	}
	c, err := readCursor(ctx, inv.SharedKV, j.cursorKey)
	if err != nil {
		return false, err
	}
	j.log().Info("starting the run", "resuming", false, "source", p.Source, "target", p.Target,
		"cursor_key", j.cursorKey, "after_mod_time", c.ModTime, "after_name", c.Name)
	*st = State{Phase: PhaseList, Cursor: c}
	return false, nil
}

// checkEnv makes sure the runtime provides what the run needs.
func checkEnv(env *job.Env, p *Params) error {
	switch {
	case env == nil || env.SharedKV == nil:
		return errors.New("blob_import needs the shared kv store (Env.SharedKV) for its cursor")
	case p.ObjectType == "" && env.Events == nil:
		return errors.New("blob_import into events needs the event writer (Env.Events)")
	case p.ObjectType != "" && env.Objects == nil:
		return errors.New("blob_import into objects needs the object store (Env.Objects)")
	}
	return checkFolder(env, p)
}

// Perform lists the files after the cursor, imports one file, or ends the
// run with a notification, depending on the phase.
func (j *Job) Perform(ctx context.Context, st *State) (bool, error) {
	log := j.log()
	switch st.Phase {
	case PhaseList:
		files, err := listFiles(ctx, j.bucket, j.params.prefix, st.Cursor)
		if err != nil {
			err = fmt.Errorf("list %s: %w", j.params.Source, err)
			j.notifyFailure(ctx, "Cannot list the source", err, st)
			return false, err
		}
		var names []string
		for _, f := range files[:min(len(files), 20)] {
			names = append(names, f.Name)
		}
		log.Info("files to import", "count", len(files), "first", names, "after", st.Cursor.Name)
		st.Files, st.Phase = files, PhaseImport
		if len(files) == 0 {
			st.Phase = PhaseComplete
		}
	case PhaseImport:
		if len(st.Files) == 0 {
			st.Phase = PhaseComplete
			break
		}
		f := st.Files[0]
		if err := j.importFile(ctx, f, st); err != nil {
			if ctx.Err() == nil {
				j.notifyFailure(ctx, "Cannot import "+f.Name, err, st)
			}
			return false, err
		}
		if err := advanceCursor(ctx, j.inv.SharedKV, j.cursorKey, j.params, f); err != nil {
			return false, err
		}
		st.Files = st.Files[1:]
		st.FilesDone++
		if len(st.Files) == 0 {
			st.Phase = PhaseComplete
		}
	case PhaseComplete:
		log.Info("import complete", "files", st.FilesDone, "records", st.Records, "rejected", st.Rejected)
		j.notify(ctx, job.Notification{
			Level:    job.LevelInfo,
			Activity: Activity,
			Title:    "Imported data",
			Summary:  j.summary(st),
			Details:  details(st),
		})
		return true, nil
	default:
		return false, fmt.Errorf("blob_import: unknown phase %q in the state", st.Phase)
	}
	return false, nil
}

// Close releases the source's bucket: the runtime calls it when the run
// ends, however it ends.
func (j *Job) Close() error {
	if j.bucket == nil {
		return nil
	}
	err := j.bucket.Close()
	j.bucket = nil
	return err
}

func (j *Job) summary(st *State) string {
	return fmt.Sprintf("Imported %s from %s of %s into %s; %s rejected",
		count(st.Records, "record"), count(int64(st.FilesDone), "file"), j.params.Source, j.params.Target, count(st.Rejected, "row"))
}

// count writes "1 file", "2 files".
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func details(st *State) string {
	if len(st.Rejections) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Rejected rows:\n")
	for _, r := range st.Rejections {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	if more := st.Rejected - int64(len(st.Rejections)); more > 0 {
		fmt.Fprintf(&b, "and %d more (see the run's logs)\n", more)
	}
	return b.String()
}

func (j *Job) notifyFailure(ctx context.Context, title string, err error, st *State) {
	summary := err.Error()
	if st != nil {
		summary = fmt.Sprintf("%s (before it: %s imported from %s)", summary, count(st.Records, "record"), count(int64(st.FilesDone), "file"))
	}
	j.notify(ctx, job.Notification{Level: job.LevelError, Activity: Activity, Title: title, Summary: summary})
}

func (j *Job) notify(ctx context.Context, n job.Notification) {
	if j.inv == nil || j.inv.Env == nil || j.inv.Notify == nil {
		return
	}
	if err := j.inv.Notify.Notify(ctx, n); err != nil {
		j.log().Error("notification not stored", "title", n.Title, "error", err)
	}
}

func (j *Job) log() *slog.Logger {
	if j.inv != nil && j.inv.Env != nil && j.inv.Log != nil {
		return j.inv.Log
	}
	return slog.New(slog.DiscardHandler)
}

// fileImport is the import of one file.
type fileImport struct {
	j    *Job
	st   *State
	file File
	log  *slog.Logger

	mu       sync.Mutex // guards what follows and st's rejection fields
	records  int64
	rejected int64
}

// importFile reads a file and writes its records, flushing every batch
// before it returns: once it returns nil the file's records are durable.
func (j *Job) importFile(ctx context.Context, f File, st *State) error {
	log := j.log().With("file", f.Name)
	log.Info("importing file", "size", f.Size, "mod_time", f.ModTime)
	r, err := j.bucket.NewReader(ctx, f.Name, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer r.Close()
	fi := &fileImport{j: j, st: st, file: f, log: log}
	firstReported := len(st.Rejections)
	p := j.params
	dec := newDecoder(r, p.Format)
	if p.ObjectType != "" {
		err = importRecords(ctx, fi, dec, fi.object, func(ctx context.Context, recs []job.Record) ([]job.Rejection, error) {
			rej, err := j.inv.Objects.Upsert(ctx, p.ObjectType, recs)
			if err != nil {
				return nil, fmt.Errorf("upsert %s objects: %w", p.ObjectType, err)
			}
			return rej, nil
		})
	} else {
		err = importRecords(ctx, fi, dec, fi.event, func(ctx context.Context, raws []json.RawMessage) ([]job.Rejection, error) {
			rej, err := j.inv.Events.Append(ctx, raws)
			if err != nil {
				return nil, fmt.Errorf("append events: %w", err)
			}
			return rej, nil
		})
	}
	if err != nil {
		return err
	}
	st.Records += fi.records
	// Batches finish in any order; report a file's rows in line order.
	mine := st.Rejections[min(firstReported, len(st.Rejections)):]
	sort.SliceStable(mine, func(a, b int) bool { return mine[a].Line < mine[b].Line })
	if fi.rejected > MaxLoggedRejections {
		log.Warn("more rows rejected than logged", "rejected", fi.rejected, "logged", MaxLoggedRejections)
	}
	log.Info("file imported", "records", fi.records, "rejected", fi.rejected)
	return nil
}

// item is a record ready for the target, with its line.
type item[T any] struct {
	line int
	v    T
}

// InFlight is how many batches of a file are written at once: while one
// is inserted, the next is parsed and validated.
const InFlight = 2

// importRecords reads every record of a file, converts it for the target
// and writes it in batches, InFlight at a time; when it returns nil, every
// batch has been written.
func importRecords[T any](ctx context.Context, fi *fileImport, dec decoder,
	convert func(record) (T, error), write func(context.Context, []T) ([]job.Rejection, error)) (err error) {
	w := &writes{sem: make(chan struct{}, InFlight)}
	defer func() {
		if werr := w.wait(); err == nil {
			err = werr
		}
	}()
	b := job.NewBatcher(fi.j.params.BatchSize, func(ctx context.Context, items []item[T]) error {
		return w.start(ctx, func(ctx context.Context) error {
			vs := make([]T, len(items))
			for i, it := range items {
				vs[i] = it.v
			}
			rej, err := write(ctx, vs)
			if err != nil {
				return err
			}
			for _, r := range rej {
				if r.Index < 0 || r.Index >= len(items) {
					return fmt.Errorf("the target rejected record %d of a batch of %d", r.Index, len(items))
				}
				fi.reject(items[r.Index].line, r.Field, r.Reason)
			}
			fi.mu.Lock()
			fi.records += int64(len(items) - len(rej))
			fi.mu.Unlock()
			return nil
		})
	})
	for {
		rec, err := dec.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if re := (*rowError)(nil); errors.As(err, &re) {
			fi.reject(re.line, "", re.reason)
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", fi.file.Name, err)
		}
		v, err := convert(rec)
		if err != nil {
			fi.reject(rec.line, "", err.Error())
			continue
		}
		if _, err := b.Append(ctx, item[T]{rec.line, v}); err != nil {
			return err
		}
	}
	_, err = b.Flush(ctx)
	return err
}

// writes runs batch writes in goroutines, a few at a time, and keeps the
// first error.
type writes struct {
	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

// start runs fn once a slot is free, or returns the error of an earlier
// write.
func (w *writes) start(ctx context.Context, fn func(context.Context) error) error {
	if err := w.failed(); err != nil {
		return err
	}
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.sem }()
		if err := fn(ctx); err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
	}()
	return nil
}

func (w *writes) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait waits for every write and returns the first error.
func (w *writes) wait() error {
	w.wg.Wait()
	return w.failed()
}

// reject counts and reports a skipped row.
func (fi *fileImport) reject(line int, field, reason string) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.rejected++
	fi.st.Rejected++
	r := Rejection{File: fi.file.Name, Line: line, Field: field, Reason: reason}
	if fi.rejected <= MaxLoggedRejections {
		args := []any{"line", line, "reason", reason}
		if field != "" {
			args = append(args, "field", field)
		}
		fi.log.Warn("row rejected", args...)
	}
	if len(fi.st.Rejections) < MaxReportedRejections {
		fi.st.Rejections = append(fi.st.Rejections, r)
	}
}

// event turns a record into an event: as it is when the file is JSON and
// there is no mapping, else built and encoded.
func (fi *fileImport) event(rec record) (json.RawMessage, error) {
	m := fi.j.params.Mapping
	if rec.raw != nil && m == nil {
		return rec.raw, nil
	}
	src, err := fields(rec, true)
	if err != nil {
		return nil, err
	}
	if m != nil {
		if src, err = m.Apply(src); err != nil {
			return nil, err
		}
	}
	return json.Marshal(src)
}

// object turns a record into an object record.
func (fi *fileImport) object(rec record) (job.Record, error) {
	src, err := fields(rec, false)
	if err != nil {
		return nil, err
	}
	if m := fi.j.params.Mapping; m != nil {
		return m.Apply(src)
	}
	return src, nil
}

// fields decodes a record into a map; exact keeps JSON numbers as written.
func fields(rec record, exact bool) (map[string]any, error) {
	if rec.raw == nil {
		return rec.cols, nil
	}
	d := json.NewDecoder(bytes.NewReader(rec.raw))
	if exact {
		d.UseNumber()
	}
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the record")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the record is %s, not a JSON object", kind(v))
	}
	return obj, nil
}
