package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/weftdata/weft/internal/blobimport"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// BlobImportOpts describe a blob import benchmark.
type BlobImportOpts struct {
	// DB is the store imported into; it should hold none of the events.
	DB *store.DB
	// Events to generate and import. Default 1,000,000.
	Events int
	// Files the events are split into. Default 10.
	Files int
	// Dir receives the NDJSON files; a temporary directory, removed at
	// the end, when empty.
	Dir string
	// BatchSize is the job's batch_size; 0 keeps its default.
	BatchSize int
	// Seed of the demo data. Default 1.
	Seed uint64
	// Progress, when set, is told what the benchmark is doing.
	Progress func(string)
}

// BlobImportReport is what a blob import benchmark measured.
type BlobImportReport struct {
	Events       int
	Files        int
	Bytes        int64
	GenerateTime time.Duration
	// ImportTime runs from Prepare to the Perform that completes the run;
	// every event is durable when it ends.
	ImportTime   time.Duration
	EventsPerSec float64
	Performs     int
	Imported     int64
	Rejected     int64
	StoredEvents int64
}

func (r *BlobImportReport) String() string {
	return fmt.Sprintf(`%d NDJSON events in %d files (%d MiB), generated in %s
import: %s, %.0f events/s durable; %d performs, %d imported, %d rejected, %d events in the log`,
		r.Events, r.Files, r.Bytes>>20, r.GenerateTime.Round(time.Millisecond),
		r.ImportTime.Round(time.Millisecond), r.EventsPerSec, r.Performs, r.Imported, r.Rejected, r.StoredEvents)
}

// BlobImport writes demo events as NDJSON files into a local directory
// and times the blob_import job importing them into the event log,
// driving Prepare and Perform as the runtime does (without its checkpoint
// writes, which scheduler benchmarks measure) over the real kv store and
// event writer.
func BlobImport(ctx context.Context, opts BlobImportOpts) (*BlobImportReport, error) {
	if opts.Events <= 0 {
		opts.Events = 1_000_000
	}
	if opts.Files <= 0 {
		opts.Files = 10
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "weft-bench-blob-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	r := &BlobImportReport{Events: opts.Events, Files: opts.Files}

	opts.Progress(fmt.Sprintf("writing %d events into %d files", opts.Events, opts.Files))
	start := time.Now()
	var err error
	if r.Bytes, err = writeDemoFiles(dir, demo.Options{Seed: opts.Seed, Customers: opts.Events / 20}, opts.Events, opts.Files); err != nil {
		return nil, err
	}
	r.GenerateTime = time.Since(start)

	params := map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events"}
	if opts.BatchSize > 0 {
		params["batch_size"] = opts.BatchSize
	}
	var note job.Notification
	env := &job.Env{
		SharedKV: kv.New(opts.DB, nil),
		Events:   &event.Writer{In: event.NewIngester(opts.DB, nil)},
		Notify:   notifier(func(n job.Notification) { note = n }),
		Log:      slog.New(slog.DiscardHandler),
	}
	info, ok := job.Lookup(blobimport.Name)
	if !ok {
		return nil, fmt.Errorf("job %s is not registered", blobimport.Name)
	}
	j := info.New()
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	inv := &job.Invocation{RunID: "bench", Job: blobimport.Name, ScheduledAt: time.Now(), Parameters: raw, Attempt: 1, Env: env}

	opts.Progress("importing")
	start = time.Now()
	status, err := j.Prepare(ctx, inv, nil, false)
	for err == nil && !status.Complete {
		status, err = j.Perform(ctx, status)
		r.Performs++
	}
	if err != nil {
		return nil, err
	}
	r.ImportTime = time.Since(start)
	r.EventsPerSec = float64(opts.Events) / r.ImportTime.Seconds()
	if note.Level != job.LevelInfo {
		return nil, fmt.Errorf("the run ended without its notification: %+v", note)
	}
	final, err := job.StateOf[blobimport.State](status)
	if err != nil {
		return nil, err
	}
	r.Imported, r.Rejected = final.Records, final.Rejected
	st, err := opts.DB.Stats(ctx)
	if err != nil {
		return nil, err
	}
	r.StoredEvents = st.Events
	return r, nil
}

type notifier func(job.Notification)

func (f notifier) Notify(_ context.Context, n job.Notification) error {
	f(n)
	return nil
}

// writeDemoFiles writes n demo events as NDJSON into files equal in count
// of events, each modified a second after the one before, and returns the
// bytes written.
func writeDemoFiles(dir string, opts demo.Options, n, files int) (int64, error) {
	var total int64
	per := (n + files - 1) / files
	var f *os.File
	var w *bufio.Writer
	closeFile := func() error {
		if f == nil {
			return nil
		}
		if err := w.Flush(); err != nil {
			return err
		}
		info, err := f.Stat()
		if err != nil {
			return err
		}
		total += info.Size()
		return f.Close()
	}
	var line []byte
	i := 0
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var paths []string
	for e := range demo.Stream(opts, n) {
		if i%per == 0 {
			if err := closeFile(); err != nil {
				return 0, err
			}
			path := filepath.Join(dir, fmt.Sprintf("events-%04d.ndjson", i/per))
			var err error
			if f, err = os.Create(path); err != nil {
				return 0, err
			}
			w = bufio.NewWriterSize(f, 1<<20)
			paths = append(paths, path)
		}
		line = e.AppendJSON(line[:0])
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return 0, err
		}
		i++
	}
	if err := closeFile(); err != nil {
		return 0, err
	}
	for k, path := range paths {
		mod := base.Add(time.Duration(k) * time.Second)
		if err := os.Chtimes(path, mod, mod); err != nil {
			return 0, err
		}
	}
	return total, nil
}
