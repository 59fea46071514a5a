package jobrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// runLogger returns the Env.Log of a run: lines are stored with the run
// (readable with GET /v1/jobs/runs/{id}/logs) and passed to the server's
// log with the run's id.
func (r *Runner) runLogger(run *store.JobRun) *slog.Logger {
	return slog.New(&runHandler{r: r, runID: run.ID, next: r.log.With("run_id", run.ID, "job", run.Job).Handler()})
}

// runHandler is a slog.Handler storing records in job_logs. Debug lines
// are stored too: they are what a developer reads when a job misbehaves.
type runHandler struct {
	r     *Runner
	runID string
	next  slog.Handler
	attrs []slog.Attr
	group string
}

func (h *runHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *runHandler) Handle(ctx context.Context, rec slog.Record) error {
	fields := map[string]any{}
	for _, a := range h.attrs {
		fields[a.Key] = a.Value.Resolve().Any()
	}
	rec.Attrs(func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		fields[key] = a.Value.Resolve().Any()
		return true
	})
	body, err := json.Marshal(fields)
	if err != nil {
		body, _ = json.Marshal(map[string]string{"unencodable_fields": fmt.Sprint(fields)})
	}
	l := &store.JobLog{At: rec.Time.UTC(), Level: levelName(rec.Level), Message: rec.Message, Fields: body}
	if err := h.r.db.JobLogInsert(context.WithoutCancel(ctx), h.runID, l); err != nil {
		h.r.log.Error("jobs: store a log line", "run_id", h.runID, "error", err)
	}
	if h.next.Enabled(ctx, rec.Level) {
		return h.next.Handle(ctx, rec)
	}
	return nil
}

func (h *runHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	c.next = h.next.WithAttrs(attrs)
	return &c
}

func (h *runHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	c.next = h.next.WithGroup(name)
	return &c
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// notifier is the Env.Notify of a run.
type notifier struct {
	r   *Runner
	run *store.JobRun
}

// Notify stores a notification of the run; blank required fields are
// refused (and logged, as OCP does) so that the activity log never holds
// entries nobody can read.
func (n *notifier) Notify(ctx context.Context, note job.Notification) error {
	if err := n.r.Notify(ctx, note, n.run); err != nil {
		n.r.log.Error("jobs: unable to send notification", "run_id", n.run.ID, "error", err)
		return err
	}
	return nil
}

// Notify stores a notification; run may be nil for the platform's own.
func (r *Runner) Notify(ctx context.Context, note job.Notification, run *store.JobRun) error {
	switch note.Level {
	case job.LevelInfo, job.LevelSuccess, job.LevelWarn, job.LevelError:
	default:
		return fmt.Errorf("notification level %q is not one of info, success, warn, error", note.Level)
	}
	for _, f := range []struct{ name, value string }{{"activity", note.Activity}, {"title", note.Title}, {"summary", note.Summary}} {
		if strings.TrimSpace(f.value) == "" {
			return fmt.Errorf("notification %s cannot be blank", f.name)
		}
	}
	details := note.Details
	if strings.TrimSpace(details) == "" {
		details = note.Title + "\n" + note.Summary
	}
	row := &store.Notification{At: r.now(), Level: string(note.Level), Activity: note.Activity, Title: note.Title,
		Summary: note.Summary, Details: details}
	if run != nil {
		row.RunID, row.Job = &run.ID, &run.Job
	}
	return r.db.NotificationInsert(ctx, row)
}

// RunLog is the log of a run by id, for work done on its behalf outside
// its invocation (a plugin run's deployment): lines are stored with the
// run and passed to the server's log.
func (r *Runner) RunLog(runID string) *slog.Logger {
	return slog.New(&runHandler{r: r, runID: runID, next: r.log.With("run_id", runID).Handler()})
}
