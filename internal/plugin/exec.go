package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Defaults of ExecParams and of the batches object.
const (
	StageTimeoutDefault   = time.Hour
	MaxOutputBytesDefault = 10 << 20
	MaxBatchSizeDefault   = 10_000
	MaxBatchSizeMin       = 1_000
	MaxBatchSizeMax       = 10_000_000
	maxResultsBytes       = 64 << 20
	backtraceBytes        = 8 << 10
)

// Manifest is what a stage reads from argv[1] (the spec's §5).
type Manifest struct {
	Stage        string            `json:"stage"`
	DataURLs     map[string]string `json:"dataUrls,omitempty"`
	DownloadURLs map[string]string `json:"downloadUrls"`
	// GetUploadURLs has the current stage only; none in deploy.
	GetUploadURLs map[string]string `json:"getUploadUrls,omitempty"`
	InputData     map[string]any    `json:"inputData"`
	InputParams   Params            `json:"inputParams"`
	Metadata      map[string]any    `json:"metadata"`
	// Options is the winning batches.options in batch stages, and
	// http.options in deploy.
	Options json.RawMessage `json:"options,omitempty"`
}

// ReportManifest is a report plugin's manifest (the spec's §12): one
// report, no stages. DownloadURL and GetUploadURL are there, as in
// Stormly, though a report plugin has no later stage to share files with.
type ReportManifest struct {
	DataURL      string         `json:"dataUrl"`
	DownloadURL  string         `json:"downloadUrl"`
	GetUploadURL string         `json:"getUploadUrl"`
	InputData    map[string]any `json:"inputData"`
	InputParams  Params         `json:"inputParams"`
}

// Params are a manifest's inputParams. Numbers are written with a
// decimal point, 4.0 rather than 4: the spec says they are always floats,
// and a Python plugin reads 4 as an int.
type Params map[string]any

// MarshalJSON writes the params with every number a float.
func (p Params) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(p))
	for k, v := range p {
		if f, ok := v.(float64); ok {
			v = floatJSON(f)
		}
		out[k] = v
	}
	return json.Marshal(out)
}

type floatJSON float64

func (f floatJSON) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(float64(f))
	if err == nil && !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return b, err
}

// ExecParams describe one stage run of a plugin process.
type ExecParams struct {
	// Command is the plugin's argv; manifest.json and results.json are
	// appended.
	Command []string
	// Dir is a fresh, empty working directory for the stage.
	Dir      string
	Manifest *Manifest
	// Report, when set instead of Manifest, is the manifest of a report
	// plugin's stage (named ReportKey).
	Report *ReportManifest
	// Timeout kills the process group. Default StageTimeoutDefault.
	Timeout time.Duration
	// MaxOutputBytes caps what of stdout and stderr goes to Log; the
	// rest is dropped (counted). Default MaxOutputBytesDefault.
	MaxOutputBytes int64
	// Env is the process's whole environment beyond the scrubbed base
	// (PATH, HOME and TMPDIR set to Dir, LANG=C.UTF-8): nothing of
	// Weft's own environment leaks, secrets included.
	Env []string
	// Log gets stdout and stderr lines at info level, with stream=stdout
	// or stream=stderr; the caller adds the plugin and the run.
	Log *slog.Logger
}

// Exec runs one stage: writes manifest.json into Dir, runs
// <command> manifest.json results.json there, and reads and validates
// results.json. A stage that fails returns *StageFailure.
func Exec(ctx context.Context, p ExecParams) (*Results, error) {
	if len(p.Command) == 0 {
		return nil, errors.New("plugin has no command")
	}
	if p.Timeout <= 0 {
		p.Timeout = StageTimeoutDefault
	}
	if p.MaxOutputBytes <= 0 {
		p.MaxOutputBytes = MaxOutputBytesDefault
	}
	if p.Log == nil {
		p.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var doc any = p.Report
	stage := ReportKey
	if p.Report == nil {
		doc, stage = p.Manifest, p.Manifest.Stage
	}
	manifest, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(p.Dir, "manifest.json"), manifest, 0o600); err != nil {
		return nil, fmt.Errorf("stage %s: write manifest: %w", stage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Command[0], append(p.Command[1:], "manifest.json", "results.json")...)
	isolate(cmd, p.Dir, p.Env)
	out := &outputLog{log: p.Log, left: p.MaxOutputBytes}
	stdout, stderr := out.writer("stdout", nil), out.writer("stderr", &out.tail)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err = cmd.Run()
	stdout.Close()
	stderr.Close()
	if out.dropped > 0 {
		p.Log.Warn("plugin output over the cap was dropped", "stage", stage, "cap_bytes", p.MaxOutputBytes, "dropped_bytes", out.dropped)
	}
	p.Log.Info("plugin stage ended", "stage", stage, "seconds", time.Since(start).Seconds(), "error", err)
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return nil, failure(stage, "Plugin timed out", fmt.Sprintf("the %s stage ran longer than %s and was stopped", stage, p.Timeout), out.tail.String())
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// A plugin that reported its own error status and exited
			// non-zero, as the examples do: its status is the better one.
			if own := ownFailure(stage, filepath.Join(p.Dir, "results.json")); own != nil {
				if own.Status.Backtrace == nil && out.tail.String() != "" {
					bt := out.tail.String()
					own.Status.Backtrace = &bt
				}
				return nil, own
			}
			return nil, failure(stage, "Plugin crashed", fmt.Sprintf("the %s stage exited with %s", stage, exit.ProcessState), out.tail.String())
		}
		return nil, failure(stage, "Plugin did not start", err.Error(), "")
	}
	return readResults(stage, filepath.Join(p.Dir, "results.json"), out.tail.String())
}

// isolate sets up a plugin process: the working directory, a scrubbed
// environment (PATH, HOME and TMPDIR set to dir, LANG=C.UTF-8, then env:
// nothing of Weft's own, secrets included) and its own process group,
// killed whole when the command's context ends.
func isolate(cmd *exec.Cmd, dir string, env []string) {
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}
