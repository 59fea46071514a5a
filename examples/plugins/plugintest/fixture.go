// Package plugintest is a CONTRACT FIXTURE of the plugin HTTP protocol in
// specs/stormly.md, for the tests of the shipped example plugins.
//
// It is not Weft's plugin platform. It serves, from memory and over a local
// httptest server, exactly the three things a plugin process talks to:
//
//   - datasets (spec §6): GET <dataUrl>[?range_start_gt_or_eq=a&range_end_lt=b]
//     answers {"metadata":{"columns":[...]},"data":[[...],...]}, the range
//     filtering on the fixed `random` column (lower bound inclusive, upper
//     exclusive; bad bounds are a 400);
//   - signed storage (spec §8): GET {getUploadUrls[stage]}/<path> answers a
//     one-time PUT URL as text/plain (403 for a stage that is not the one
//     running, 400 for absolute paths, `..` and empty segments), PUT stores
//     the bytes, GET {downloadUrls[stage]}/<path> returns them (404 if absent);
//   - manifests (spec §5, §9.2) pointing at the above.
//
// The real platform server (branch `plugins`) replaces this fixture in the
// end-to-end tests once it lands; the plugins are written against the
// contract only, so both must agree.
package plugintest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FixedColumns are the fixed dataset columns of spec §6.2, in the order the
// fixture serves them (consumers must look columns up by name).
var FixedColumns = []string{"user_id", "user_created", "data_now", "y_value", "y_timestamp",
	"random", "moment_key", "user_moment_base_timestamp", "moment_timestamp"}

// Feature describes one feature column for manifest metadata.features.
type Feature struct {
	Column     string
	Name       string
	Type       string // "numerical" or "categorical"
	NativeType string // "number", "boolean", "string", "date"
}

// User is one dataset row: the fixed columns the fixture fills in, plus
// the feature values by column.
type User struct {
	ID        string
	Converted bool
	Random    float64 // in [0,1): the range parameters filter on it
	Features  map[string]any
}

// Dataset is one dataset served under a key.
type Dataset struct {
	Features []Feature
	Users    []User
}

// Server is the in-memory contract fixture. Its exported fields are read
// under the lock: change them through FailDatasets and RunStage.
type Server struct {
	*httptest.Server
	t testing.TB

	mu       sync.Mutex
	datasets map[string]*Dataset
	// DatasetStatus, when non-zero, makes every dataset request fail with
	// that HTTP status (a platform failure the plugin must report).
	DatasetStatus int
	// UploadStage is the storage stage label uploads are accepted for (the
	// stage currently running); others get 403 (spec §8.1).
	UploadStage string
	files       map[string][]byte // "<stage>/<path>" -> bytes
	tokens      map[string]string // one-time PUT token -> "<stage>/<path>"
	requests    []string          // "METHOD path?query", for assertions
}

// NewServer starts a fixture server, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{t: t, datasets: map[string]*Dataset{}, files: map[string][]byte{}, tokens: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dataset/{key}", s.serveDataset)
	mux.HandleFunc("GET /upload_url/{stage}/{path...}", s.serveUploadURL)
	mux.HandleFunc("PUT /put/{token}", s.servePut)
	mux.HandleFunc("GET /files/{stage}/{path...}", s.serveFile)
	s.Server = httptest.NewServer(s.logged(mux))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// FailDatasets makes every dataset request answer status (0: serve again).
func (s *Server) FailDatasets(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.DatasetStatus = status
}

// SetDataset serves d under key.
func (s *Server) SetDataset(key string, d *Dataset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.datasets[key] = d
}

// File returns what was uploaded under stage/path.
func (s *Server) File(stage, path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[stage+"/"+path]
	return b, ok
}

// PutFile stores a file as if a stage had uploaded it.
func (s *Server) PutFile(stage, path string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[stage+"/"+path] = b
}

// Requests returns the requests served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// DatasetURL is the data URL of key, with a user range when hi > lo.
func (s *Server) DatasetURL(key string, lo, hi float64) string {
	u := s.URL + "/dataset/" + key
	if hi > lo {
		u += fmt.Sprintf("?range_start_gt_or_eq=%g&range_end_lt=%g", lo, hi)
	}
	return u
}

// UploadBase and DownloadBase are the getUploadUrls / downloadUrls values
// for a storage stage label.
func (s *Server) UploadBase(stage string) string   { return s.URL + "/upload_url/" + stage }
func (s *Server) DownloadBase(stage string) string { return s.URL + "/files/" + stage }

func (s *Server) serveDataset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d, status := s.datasets[r.PathValue("key")], s.DatasetStatus
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, "dataset unavailable (fixture-injected failure)", status)
		return
	}
	if d == nil {
		http.Error(w, "no such dataset", http.StatusNotFound)
		return
	}
	lo, hi := 0.0, 1.0
	for name, p := range map[string]*float64{"range_start_gt_or_eq": &lo, "range_end_lt": &hi} {
		if v := r.URL.Query().Get(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				http.Error(w, name+" is not a number", http.StatusBadRequest)
				return
			}
			*p = f
		}
	}
	if lo > hi {
		http.Error(w, "range_start_gt_or_eq > range_end_lt", http.StatusBadRequest)
		return
	}
	cols := append([]string(nil), FixedColumns...)
	for _, f := range d.Features {
		cols = append(cols, f.Column)
	}
	const now = "2026-04-01T00:00:00Z"
	rows := [][]any{}
	for i, u := range d.Users {
		if u.Random < lo || u.Random >= hi {
			continue
		}
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		y, yt := "false", any(nil)
		if u.Converted {
			y, yt = "true", "2026-03-01T00:00:00Z"
		}
		row := []any{u.ID, created, now, y, yt, u.Random, r.PathValue("key"), created, created}
		for _, f := range d.Features {
			row = append(row, u.Features[f.Column]) // absent -> null
		}
		rows = append(rows, row)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"metadata": map[string]any{"columns": cols}, "data": rows})
}

// checkPath applies the path rules of spec §8.1.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") {
		return errors.New("path must be relative and non-empty")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("path has an empty, . or .. segment")
		}
	}
	return nil
}

func (s *Server) serveUploadURL(w http.ResponseWriter, r *http.Request) {
	stage, p := r.PathValue("stage"), r.PathValue("path")
	if err := checkPath(p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if stage != s.UploadStage {
		http.Error(w, "uploads are only accepted into the current stage", http.StatusForbidden)
		return
	}
	var b [16]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	s.tokens[tok] = stage + "/" + p
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, s.URL+"/put/"+tok+"?X-Fixture-Signature=unused\n")
}

func (s *Server) servePut(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.tokens[r.PathValue("token")]
	if !ok {
		http.Error(w, "unknown or used upload URL", http.StatusForbidden)
		return
	}
	delete(s.tokens, r.PathValue("token"))
	s.files[key] = body
	w.Header().Set("ETag", `"fixture"`)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, ok := s.files[r.PathValue("stage")+"/"+r.PathValue("path")]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "no such file", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}

// Metadata is manifest.metadata for a dataset (spec §5).
func (s *Server) Metadata(key string) map[string]any {
	s.mu.Lock()
	d := s.datasets[key]
	s.mu.Unlock()
	feats := map[string]any{}
	n := 0
	if d != nil {
		n = len(d.Users)
		for _, f := range d.Features {
			feats[f.Column] = map[string]any{"name": f.Name, "type": f.Type, "nativeType": f.NativeType, "moment": "dynamic"}
		}
	}
	return map[string]any{
		"datasets": map[string]any{key: map[string]any{"fullDatasetSize": n, "moment": map[string]any{"type": "latest"}}},
		"goal": map[string]any{"action": "event", "event": "purchase", "times": 1.0,
			"human": "did purchase at least 1 time", "type": "categorical"},
		"features": feats,
	}
}

// InitialManifest is the manifest of the `initial` stage over the dataset
// "initial" (spec §5); uploads go to storage stage "initial".
func (s *Server) InitialManifest(inputParams map[string]any) map[string]any {
	if inputParams == nil {
		inputParams = map[string]any{}
	}
	return map[string]any{
		"stage":         "initial",
		"dataUrls":      map[string]any{"initial": s.DatasetURL("initial", 0, 0)},
		"downloadUrls":  map[string]any{"initial": s.DownloadBase("initial")},
		"getUploadUrls": map[string]any{"initial": s.UploadBase("initial")},
		"inputData":     map[string]any{},
		"inputParams":   inputParams,
		"metadata":      s.Metadata("initial"),
	}
}

// BatchManifest is the manifest of one `batch` stage (spec §9.2, seed):
// the data URL of dataKey with the user range [lo,hi) appended, downloads
// from "initial", uploads into storage label uploadStage under the key
// "batch", and options copied from the winning batches object.
func (s *Server) BatchManifest(dataKey string, lo, hi float64, uploadStage string, options, inputParams map[string]any) map[string]any {
	if inputParams == nil {
		inputParams = map[string]any{}
	}
	m := map[string]any{
		"stage":         "batch",
		"dataUrls":      map[string]any{dataKey: s.DatasetURL("initial", lo, hi)},
		"downloadUrls":  map[string]any{"initial": s.DownloadBase("initial")},
		"getUploadUrls": map[string]any{"batch": s.UploadBase(uploadStage)},
		"inputData":     map[string]any{},
		"inputParams":   inputParams,
		"metadata":      s.Metadata("initial"),
	}
	if options != nil {
		m["options"] = options
	}
	return m
}

// Run is the outcome of one stage process.
type Run struct {
	Dir      string
	ExitCode int
	Stdout   string
	Stderr   string
	Results  map[string]any // results.json, nil if missing or invalid
	RawJSON  []byte
}

// RunStage runs `argv... manifest.json results.json` in a fresh working
// directory holding manifest.json (the process contract of spec §4), with
// uploads accepted only for uploadStage, and reads results.json back.
func (s *Server) RunStage(t testing.TB, argv []string, env []string, manifest map[string]any, uploadStage string) *Run {
	t.Helper()
	s.mu.Lock()
	s.UploadStage = uploadStage
	s.mu.Unlock()
	dir := t.TempDir()
	mb, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), mb, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append(append([]string(nil), argv[1:]...), "manifest.json", "results.json")
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	run := &Run{Dir: dir, Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		run.ExitCode = ee.ExitCode()
	default:
		t.Fatalf("running %v: %v", argv, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "results.json")); err == nil {
		run.RawJSON = b
		if err := json.Unmarshal(b, &run.Results); err != nil {
			run.Results = nil
		}
	}
	return run
}

// StatusCode is results.json status.code, or "" when absent.
func (r *Run) StatusCode() string {
	st, _ := r.Results["status"].(map[string]any)
	c, _ := st["code"].(string)
	return c
}

// AssertFailed checks that a stage failed as the contract says: a non-zero
// exit, and a results.json whose status is not success, with a title and
// an explanation mentioning wantInExplanation.
func AssertFailed(t testing.TB, run *Run, wantInExplanation string) {
	t.Helper()
	if run.ExitCode == 0 {
		t.Errorf("exit code 0 on failure")
	}
	if run.Results == nil {
		t.Fatalf("no valid results.json on failure (raw %q)\nstderr: %s", run.RawJSON, run.Stderr)
	}
	if c := run.StatusCode(); c == "" || c == "success" {
		t.Errorf("status.code %q on failure", c)
	}
	st := run.Results["status"].(map[string]any)
	title, _ := st["title"].(string)
	expl, _ := st["explanation"].(string)
	if title == "" || !strings.Contains(expl, wantInExplanation) {
		t.Errorf("status %v: want a title and %q in the explanation", st, wantInExplanation)
	}
}

// DataJSON is the batch output of spec §9.3 in the seed's shape.
type DataJSON struct {
	Category   string   `json:"category"`
	Properties []string `json:"properties"`
	Updates    [][]any  `json:"updates"`
}

// CheckDataJSON parses data.json and checks its shape: at least one
// property, and every update row a string user id followed by exactly one
// value per property. It returns the values by user id.
func CheckDataJSON(t testing.TB, b []byte) (*DataJSON, map[string][]any) {
	t.Helper()
	var d DataJSON
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("data.json: %v\n%s", err, b)
	}
	if len(d.Properties) == 0 {
		t.Fatalf("data.json has no properties: %s", b)
	}
	byUser := map[string][]any{}
	for i, row := range d.Updates {
		if len(row) != 1+len(d.Properties) {
			t.Fatalf("data.json update %d has %d elements, want user id + %d values: %v", i, len(row), len(d.Properties), row)
		}
		id, ok := row[0].(string)
		if !ok || id == "" {
			t.Fatalf("data.json update %d does not start with a user id: %v", i, row)
		}
		if _, dup := byUser[id]; dup {
			t.Fatalf("data.json updates user %s twice", id)
		}
		byUser[id] = row[1:]
	}
	return &d, byUser
}

// Query parses the query of a URL (a helper for assertions).
func Query(raw string) url.Values {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return u.Query()
}
