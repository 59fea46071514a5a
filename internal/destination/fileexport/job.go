package fileexport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// Kind is the job kind of file exports: destination_file_export.
var Kind = destination.Kind(destination.TypeFileExport)

func init() {
	destination.RegisterType(destination.Type{Name: destination.TypeFileExport, Validate: validate, Job: Info})
}

// Info is the job kind destination_file_export: a run writes one file of
// one destination (parameter destination).
func Info(deps *destination.Deps) job.Info {
	return job.Typed[destination.Params, State](Kind, "write a file_export destination's file (parameter destination)",
		func() *exportJob { return &exportJob{deps: deps} })
}

// Phases of a run.
const (
	phaseWrite   = "write"   // the file is being written
	phaseAdvance = "advance" // it is committed: the cursor moves next
)

// State is a run's checkpoint and result.
type State struct {
	Destination string `json:"destination"`
	Phase       string `json:"phase"`
	// File is the file's key below the target.
	File string `json:"file"`
	// FromSeq and ToSeq bound the segment changes written (mode changes of
	// a segment): seq in (FromSeq, ToSeq].
	FromSeq int64 `json:"from_seq,omitempty"`
	ToSeq   int64 `json:"to_seq,omitempty"`
	// Rows and Bytes are what the file holds once written.
	Rows       int64   `json:"rows"`
	Bytes      int64   `json:"bytes"`
	DurationMS float64 `json:"duration_ms"`
}

type exportJob struct {
	deps   *destination.Deps
	inv    *job.Invocation
	def    *destination.Definition
	spec   *spec
	target target
}

var (
	_ job.Worker[destination.Params, State]   = (*exportJob)(nil)
	_ job.ParamsValidator[destination.Params] = (*exportJob)(nil)
	_ job.Closer                              = (*exportJob)(nil)
)

// ErrFolder is a file:// target outside the folders the operator allowed.
var ErrFolder = errors.New("outside the folders this server may export to")

// CheckFolder refuses a file:// target outside folders (nil allows any:
// a runtime without an operator, in tests).
func CheckFolder(target string, folders []string) error {
	if folders == nil || bucket.InFolders(target, folders) {
		return nil
	}
	return fmt.Errorf("%s is %w (%s): whoever starts weft serve allows folders with --export-folder", target, ErrFolder, listOrNone(folders))
}

func (j *exportJob) ValidateParams(ctx context.Context, p destination.Params) error {
	_, _, err := j.resolve(ctx, p)
	return err
}

// resolve finds the file_export destination of a run's parameters.
func (j *exportJob) resolve(ctx context.Context, p destination.Params) (*destination.Definition, *destination.InForce, error) {
	if p.Destination == "" {
		return nil, nil, &job.ParamError{Param: "destination", Reason: "is required: the id of a destination of weft.yaml"}
	}
	cfg, err := j.deps.Config(ctx)
	if err != nil {
		return nil, nil, err
	}
	def := destination.Find(cfg.Destinations, p.Destination)
	switch {
	case def == nil:
		return nil, nil, fmt.Errorf("%w %q: declare it under destinations: in weft.yaml", destination.ErrUnknown, p.Destination)
	case def.Type != destination.TypeFileExport:
		return nil, nil, &job.ParamError{Param: "destination", Reason: fmt.Sprintf("%s is a %s destination, not a %s", def.ID, def.Type, destination.TypeFileExport)}
	}
	if err := CheckFolder(def.Target, j.deps.ExportFolders); err != nil {
		return nil, nil, def.Errorf("target", "%w", err)
	}
	return def, cfg, nil
}

func (j *exportJob) Prepare(ctx context.Context, inv *job.Invocation, p destination.Params, st *State, resuming bool) (bool, error) {
	def, cfg, err := j.resolve(ctx, p)
	if err != nil {
		return false, job.Fail(err)
	}
	if j.spec, err = newSpec(def, cfg.Attributes); err != nil {
		return false, job.Fail(def.Errorf("attributes", "%w", err))
	}
	if j.target, err = openTarget(ctx, def.Target); err != nil {
		return false, job.Fail(def.Errorf("target", "%w", err))
	}
	j.inv, j.def = inv, def
	// One run of a destination at a time: what is partial under its
	// folder was left by a run that was killed.
	if err := j.target.clean(def.ID); err != nil {
		return false, fmt.Errorf("remove partial files: %w", err)
	}
	if err := cleanStaging(j.engineFolder(), def.ID); err != nil {
		return false, fmt.Errorf("remove partial files: %w", err)
	}
	if resuming && st.Phase != "" {
		j.spec.from, j.spec.to = st.FromSeq, st.ToSeq
		return false, nil
	}
	*st = State{Destination: def.ID, Phase: phaseWrite,
		File: fileKey(def.ID, inv.ScheduledAt.UTC().Format("20060102T150405Z"), inv.RunID, def.Format)}
	switch {
	case j.spec.changes:
		return false, j.changeRange(ctx, st)
	case j.spec.profiles:
		return false, j.queueProfiles(ctx, st)
	}
	return false, nil
}

// queueProfiles queues the profiles whose chosen values changed since
// they were last written (the webhook's changed-profile detection), unless
// a run that died left some queued: those are written first.
func (j *exportJob) queueProfiles(ctx context.Context, st *State) error {
	db := j.deps.DB
	var n int64
	if err := db.QueryRowContext(ctx, db.Query("DestinationProfilesPending"), j.def.ID).Scan(&n); err != nil {
		return fmt.Errorf("count the changed profiles: %w", err)
	}
	if n == 0 {
		attrs, cats := append([]string{}, j.def.Attributes...), append([]string{}, j.def.Identifiers...)
		if _, err := db.ExecContext(ctx, db.Query("DestinationProfilesQueue"), j.def.ID, attrs, cats, j.def.Consent); err != nil {
			return fmt.Errorf("find the changed profiles: %w", err)
		}
		if err := db.QueryRowContext(ctx, db.Query("DestinationProfilesPending"), j.def.ID).Scan(&n); err != nil {
			return fmt.Errorf("count the changed profiles: %w", err)
		}
	}
	if n == 0 {
		st.File, st.Phase = "", phaseAdvance
	}
	return nil
}

// changeRange fixes the segment changes the run writes: those after the
// cursor up to the last one recorded now.
func (j *exportJob) changeRange(ctx context.Context, st *State) error {
	db := j.deps.DB
	if err := db.QueryRowContext(ctx, db.Query("FileExportCursor"), j.def.ID).Scan(&st.FromSeq); err != nil {
		return fmt.Errorf("read the cursor: %w", err)
	}
	if err := db.QueryRowContext(ctx, db.Query("FileExportChangesEnd")).Scan(&st.ToSeq); err != nil {
		return fmt.Errorf("read the last segment change: %w", err)
	}
	st.ToSeq = max(st.ToSeq, st.FromSeq)
	j.spec.from, j.spec.to = st.FromSeq, st.ToSeq
	var n int64
	if err := db.QueryRowContext(ctx, db.Query("FileExportChangesCount"), j.def.Segment, st.FromSeq, st.ToSeq).Scan(&n); err != nil {
		return fmt.Errorf("count the segment changes: %w", err)
	}
	if n == 0 { // nothing to write: the cursor moves past other segments' changes
		st.File, st.Phase = "", phaseAdvance
	}
	return nil
}

func (j *exportJob) Perform(ctx context.Context, st *State) (bool, error) {
	switch st.Phase {
	case phaseWrite:
		start := time.Now()
		rows, bytes, err := j.write(ctx, st.File)
		if err != nil {
			return false, err
		}
		st.Rows, st.Bytes, st.Phase = rows, bytes, phaseAdvance
		st.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		j.inv.Log.Info("file written", "file", st.File, "rows", rows, "bytes", bytes, "ms", st.DurationMS)
		return false, nil
	case phaseAdvance:
		return true, j.advance(ctx, st)
	}
	return false, fmt.Errorf("unknown phase %q", st.Phase)
}

// advance records what the committed file holds: the cursor of segment
// changes moves to its end, or the profiles written leave the queue with
// their values' hashes kept as written.
func (j *exportJob) advance(ctx context.Context, st *State) error {
	db, now := j.deps.DB, time.Now().UTC()
	switch {
	case j.spec.changes:
		if _, err := db.ExecContext(ctx, db.Query("FileExportCursorAdvance"), j.def.ID, st.ToSeq, now); err != nil {
			return fmt.Errorf("advance the cursor: %w", err)
		}
	case j.spec.profiles:
		return db.InTx(ctx, func(tx store.ExecutorTx) error {
			if _, err := tx.ExecContext(ctx, tx.Query("FileExportProfilesWritten"), j.def.ID, now); err != nil {
				return fmt.Errorf("record the profiles written: %w", err)
			}
			if _, err := tx.ExecContext(ctx, tx.Query("FileExportProfilesDequeue"), j.def.ID); err != nil {
				return fmt.Errorf("dequeue the profiles written: %w", err)
			}
			return nil
		})
	}
	return nil
}

// write writes the file and commits it; on any error it is dropped.
func (j *exportJob) write(ctx context.Context, key string) (rows, bytes int64, err error) {
	f, err := j.target.create(ctx, key, contentTypes[j.def.Format])
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			f.abort()
		}
	}()
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if folder := j.engineFolder(); folder != "" {
		rows, err = j.engineWrite(ctx, folder, bw)
	} else {
		rows, err = j.encode(ctx, bw)
	}
	if err != nil {
		return 0, 0, err
	}
	if err = bw.Flush(); err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", key, err)
	}
	if err = f.commit(); err != nil {
		return 0, 0, err
	}
	return rows, cw.n, nil
}

// encode writes the rows through the format's Go encoder.
func (j *exportJob) encode(ctx context.Context, w io.Writer) (int64, error) {
	enc, err := newEncoder(j.def.Format, j.spec, w)
	if err != nil {
		return 0, err
	}
	rows, err := j.spec.run(ctx, j.deps.DB, enc)
	if err != nil {
		return 0, err
	}
	return rows, enc.close()
}

func (j *exportJob) Close() error {
	if j.target == nil {
		return nil
	}
	return j.target.close()
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
