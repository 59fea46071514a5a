package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

// Status is results.json's status object.
type Status struct {
	Code        string  `json:"code"`
	Title       *string `json:"title"`
	Explanation *string `json:"explanation"`
	Backtrace   *string `json:"backtrace"`
}

// Batches is results.json's batches object, validated.
type Batches struct {
	MaxBatchSize int             `json:"maxBatchSize"`
	Options      json.RawMessage `json:"options,omitempty"`
}

// Results is a stage's results.json (the spec's §7), validated.
type Results struct {
	Data   json.RawMessage `json:"data"`
	Status Status          `json:"status"`
	// Stages are the additional stages the initial stage asks for.
	Stages  map[string]json.RawMessage `json:"stages,omitempty"`
	Batches *Batches                   `json:"batches,omitempty"`
	// HTTP is the results' http object (type-checked; merged across
	// stages by MergeHTTP), which makes the run deployable.
	HTTP json.RawMessage `json:"http,omitempty"`
	// Raw is the whole file: unknown keys are kept, not refused.
	Raw json.RawMessage `json:"-"`
}

// StageFailure is a stage that did not succeed, with the status shown to
// the user: the plugin's own, or one Weft made for a crash, a timeout or
// bad results.
type StageFailure struct {
	Stage  string
	Status Status
}

func (e *StageFailure) Error() string {
	msg := fmt.Sprintf("stage %s failed", e.Stage)
	if e.Status.Title != nil {
		msg += ": " + *e.Status.Title
	}
	if e.Status.Explanation != nil {
		msg += ": " + *e.Status.Explanation
	}
	return msg
}

func failure(stage, title, explanation, backtrace string) *StageFailure {
	st := Status{Code: "error", Title: &title, Explanation: &explanation}
	if backtrace != "" {
		st.Backtrace = &backtrace
	}
	return &StageFailure{Stage: stage, Status: st}
}

// ExecParams describe one stage run of a plugin process.
type ExecParams struct {
	// Command is the plugin's argv; manifest.json and results.json are
	// appended.
	Command []string
	// Dir is a fresh, empty working directory for the stage.
	Dir      string
	Manifest *Manifest
	// Timeout kills the process group. Default StageTimeoutDefault.
	Timeout time.Duration
	// MaxOutputBytes caps what of stdout and stderr goes to Log; the
	// rest is dropped (counted). Default MaxOutputBytesDefault.
	MaxOutputBytes int64
	// Env is the process's whole environment beyond the scrubbed base
	// (PATH, HOME and TMPDIR set to Dir, LANG=C.UTF-8): nothing of
	// Weft's own environment leaks, secrets included.
	Env []string
	// Log gets stdout lines at info and stderr lines at warn level.
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
	stage := p.Manifest.Stage
	manifest, err := json.MarshalIndent(p.Manifest, "", "  ")
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
	stdout, stderr := out.writer(slog.LevelInfo, "stdout", nil), out.writer(slog.LevelWarn, "stderr", &out.tail)
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

// ownFailure is the error status a plugin wrote into results.json
// before exiting non-zero, or nil.
func ownFailure(stage, path string) *StageFailure {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) > maxResultsBytes {
		return nil
	}
	var r struct {
		Status *Status `json:"status"`
	}
	if json.Unmarshal(raw, &r) != nil || r.Status == nil || r.Status.Code == "" || r.Status.Code == "success" {
		return nil
	}
	return &StageFailure{Stage: stage, Status: *r.Status}
}

// readResults reads and validates results.json.
func readResults(stage, path, backtrace string) (*Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, failure(stage, "Invalid results", "the plugin wrote no results.json (it gets its path as the second argument)", backtrace)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxResultsBytes+1))
	if err != nil {
		return nil, failure(stage, "Invalid results", err.Error(), backtrace)
	}
	if len(raw) > maxResultsBytes {
		return nil, failure(stage, "Invalid results", fmt.Sprintf("results.json is larger than %d bytes", maxResultsBytes), backtrace)
	}
	return ParseResults(stage, raw)
}

// ParseResults validates a results.json: a JSON object with a status;
// code "success" or the stage failed with the plugin's status; batches
// with maxBatchSize an integer from 1,000 to 10,000,000 (default 10,000).
func ParseResults(stage string, raw []byte) (*Results, error) {
	var r struct {
		Data    json.RawMessage            `json:"data"`
		Status  *Status                    `json:"status"`
		Stages  map[string]json.RawMessage `json:"stages"`
		Batches *struct {
			MaxBatchSize *float64        `json:"maxBatchSize"`
			Options      json.RawMessage `json:"options"`
		} `json:"batches"`
		HTTP json.RawMessage `json:"http"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		msg := "results.json is not a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, failure(stage, "Invalid results", msg, "")
	}
	if r.Status == nil {
		return nil, failure(stage, "Invalid results", `results.json has no status (write "status": {"code": "success"})`, "")
	}
	if r.Status.Code != "success" {
		return nil, &StageFailure{Stage: stage, Status: *r.Status}
	}
	res := &Results{Data: r.Data, Status: *r.Status, Stages: r.Stages, Raw: raw}
	if len(r.HTTP) > 0 && string(r.HTTP) != "null" {
		if _, err := parseHTTP(r.HTTP); err != nil {
			return nil, failure(stage, "Invalid results", err.Error(), "")
		}
		res.HTTP = r.HTTP
	}
	if len(res.Data) == 0 || string(res.Data) == "null" {
		res.Data = json.RawMessage("{}")
	}
	if r.Batches != nil {
		size := float64(MaxBatchSizeDefault)
		if r.Batches.MaxBatchSize != nil {
			size = *r.Batches.MaxBatchSize
		}
		if size != math.Trunc(size) || size < MaxBatchSizeMin || size > MaxBatchSizeMax {
			return nil, failure(stage, "Invalid results", fmt.Sprintf("batches.maxBatchSize is %v: it must be a whole number from 1,000 to 10,000,000 (default 10,000)", size), "")
		}
		res.Batches = &Batches{MaxBatchSize: int(size), Options: r.Batches.Options}
	}
	return res, nil
}

// BatchRanges splits users into ceil(users/maxBatchSize) equal ranges of
// the random column, [k/n, (k+1)/n), so each batch holds about
// maxBatchSize users; the last ends at 1.
func BatchRanges(users int64, maxBatchSize int) []Range {
	n := int((users + int64(maxBatchSize) - 1) / int64(maxBatchSize))
	if n < 1 {
		n = 1
	}
	out := make([]Range, n)
	for k := range out {
		out[k] = Range{Start: float64(k) / float64(n), End: float64(k+1) / float64(n)}
	}
	out[n-1].End = 1
	return out
}

// outputLog sends a process's output lines to a logger, up to a cap.
type outputLog struct {
	mu      sync.Mutex
	log     *slog.Logger
	left    int64
	dropped int64
	tail    tailBuffer
}

// tailString is the stderr tail so far.
func (o *outputLog) tailString() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.tail.String()
}

func (o *outputLog) writer(level slog.Level, stream string, tail *tailBuffer) io.WriteCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			o.mu.Lock()
			if tail != nil {
				tail.Write([]byte(line + "\n"))
			}
			if int64(len(line)) <= o.left {
				o.left -= int64(len(line))
				o.log.Log(context.Background(), level, line, "stream", stream)
			} else {
				o.dropped += int64(len(line))
			}
			o.mu.Unlock()
		}
		io.Copy(io.Discard, pr) //nolint:errcheck // drain a line over 1 MB
	}()
	return &pipeCloser{pw: pw, done: done}
}

type pipeCloser struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (p *pipeCloser) Write(b []byte) (int, error) { return p.pw.Write(b) }
func (p *pipeCloser) Close() error {
	err := p.pw.Close()
	<-p.done
	return err
}

// tailBuffer keeps the last backtraceBytes written.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > backtraceBytes {
		t.b = t.b[len(t.b)-backtraceBytes:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
