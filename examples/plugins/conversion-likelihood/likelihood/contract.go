package likelihood

// The plugin side of the process and HTTP contract (specs/stormly.md §4–§9):
// the manifest, the dataset JSON, signed storage and results.json.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

// Manifest is the stage manifest (spec §5, §9.2). Unknown keys are ignored.
type Manifest struct {
	Stage         string            `json:"stage"`
	DataURLs      map[string]string `json:"dataUrls"`
	DownloadURLs  map[string]string `json:"downloadUrls"`
	GetUploadURLs map[string]string `json:"getUploadUrls"`
	InputParams   map[string]any    `json:"inputParams"`
	Options       map[string]any    `json:"options"` // batch stage: a copy of batches.options
	Metadata      struct {
		Datasets map[string]struct {
			FullDatasetSize int `json:"fullDatasetSize"`
		} `json:"datasets"`
		Goal     json.RawMessage `json:"goal"`
		Features map[string]struct {
			Name string `json:"name"`
		} `json:"features"`
	} `json:"metadata"`
}

func readManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s is not valid JSON: %w", path, err)
	}
	if m.Stage == "" {
		return nil, fmt.Errorf("manifest %s has no stage", path)
	}
	return &m, nil
}

// dataURL picks the dataset of a stage: key if present, else "initial",
// else the only one (or the first by key).
func (m *Manifest) dataURL(key string) (string, string, error) {
	for _, k := range []string{key, "initial"} {
		if u := m.DataURLs[k]; u != "" {
			return k, u, nil
		}
	}
	keys := make([]string, 0, len(m.DataURLs))
	for k, u := range m.DataURLs {
		if u != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "", "", errors.New("the manifest has no dataUrls")
	}
	sort.Strings(keys)
	return keys[0], m.DataURLs[keys[0]], nil
}

// The fixed dataset columns (spec §6.2); every other column is a feature.
var fixedColumns = map[string]bool{"user_id": true, "user_created": true, "data_now": true,
	"y_value": true, "y_timestamp": true, "random": true, "moment_key": true,
	"user_moment_base_timestamp": true, "moment_timestamp": true}

// Columns index the dataset's metadata.columns by name.
type Columns struct {
	Names []string
	index map[string]int
}

func newColumns(names []string) (*Columns, error) {
	c := &Columns{Names: names, index: map[string]int{}}
	for i, n := range names {
		if _, dup := c.index[n]; dup {
			return nil, fmt.Errorf("dataset column %q appears twice", n)
		}
		c.index[n] = i
	}
	return c, nil
}

// Get is the value of column name in row, nil when absent.
func (c *Columns) Get(row []any, name string) any {
	i, ok := c.index[name]
	if !ok || i >= len(row) {
		return nil
	}
	return row[i]
}

// Has reports whether the dataset has the column.
func (c *Columns) Has(name string) bool { _, ok := c.index[name]; return ok }

var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	ResponseHeaderTimeout: 10 * time.Minute, // datasets may take a while to start streaming
	IdleConnTimeout:       90 * time.Second,
}}

// get issues a GET and checks for 200.
func get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", redact(u), resp.Status, snippet(resp.Body))
	}
	return resp, nil
}

// redact drops the query (signatures) from a URL for messages.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

func snippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 300))
	return strings.TrimSpace(string(b))
}

// readDataset streams the dataset JSON of spec §6 from u, calling fn for
// every row once the columns are known. Rows are decoded one at a time, so
// memory is whatever fn keeps. (If "data" arrives before "metadata" the rows
// are held until the columns come.)
func readDataset(ctx context.Context, u string, fn func(c *Columns, row []any) error) (*Columns, error) {
	resp, err := get(ctx, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	bad := func(err error) error { return fmt.Errorf("dataset %s: %w", redact(u), err) }
	if err := expectDelim(dec, '{'); err != nil {
		return nil, bad(err)
	}
	var cols *Columns
	var early [][]any
	sawData := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		switch tok {
		case "metadata":
			var md struct {
				Columns []string `json:"columns"`
			}
			if err := dec.Decode(&md); err != nil {
				return nil, bad(fmt.Errorf("metadata: %w", err))
			}
			if cols, err = newColumns(md.Columns); err != nil {
				return nil, bad(err)
			}
			for _, row := range early {
				if err := fn(cols, row); err != nil {
					return nil, err
				}
			}
			early = nil
		case "data":
			sawData = true
			if err := expectDelim(dec, '['); err != nil {
				return nil, bad(fmt.Errorf("data: %w", err))
			}
			for dec.More() {
				var row []any
				if err := dec.Decode(&row); err != nil {
					return nil, bad(fmt.Errorf("data row: %w", err))
				}
				if cols == nil {
					early = append(early, row)
					continue
				}
				if err := fn(cols, row); err != nil {
					return nil, err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, bad(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, bad(err)
			}
		}
	}
	if cols == nil || len(cols.Names) == 0 {
		return nil, bad(errors.New("no metadata.columns"))
	}
	if !sawData {
		return nil, bad(errors.New("no data array"))
	}
	return cols, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, tok)
	}
	return nil
}

// withRange adds the user range parameters of spec §6.3 to a data URL,
// keeping any it already has (batch data URLs come with theirs).
func withRange(u string, lo, hi float64) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := p.Query()
	if q.Get("range_start_gt_or_eq") != "" || q.Get("range_end_lt") != "" {
		return u, nil
	}
	q.Set("range_start_gt_or_eq", fmt.Sprint(lo))
	q.Set("range_end_lt", fmt.Sprint(hi))
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// fileURL appends a storage path to an upload or download prefix (spec §8),
// before any query the prefix may carry.
func fileURL(base, path string) (string, error) {
	if base == "" {
		return "", errors.New("no URL for this stage in the manifest")
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	return u.JoinPath(path).String(), nil
}

// uploadFile uploads the working directory's file path under the same path.
func uploadFile(ctx context.Context, m *Manifest, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return upload(ctx, m, path, f, st.Size())
}

// upload stores size bytes from body under path in the current stage: GET
// the presigned URL (plain text), then PUT the bytes to it (spec §8.1).
func upload(ctx context.Context, m *Manifest, path string, body io.Reader, size int64) error {
	base := m.GetUploadURLs[m.Stage]
	u, err := fileURL(base, path)
	if err != nil {
		return fmt.Errorf("upload %s: getUploadUrls[%q]: %w", path, m.Stage, err)
	}
	resp, err := get(ctx, u)
	if err != nil {
		return fmt.Errorf("upload %s: asking for an upload URL: %w", path, err)
	}
	text, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("upload %s: reading the upload URL: %w", path, err)
	}
	signed, err := url.Parse(strings.TrimSpace(string(text)))
	if err != nil || signed.Scheme == "" && signed.Host == "" && signed.Path == "" {
		return fmt.Errorf("upload %s: the upload URL answer is not a URL: %q", path, snippet(bytes.NewReader(text)))
	}
	if !signed.IsAbs() { // tolerate a relative answer
		b, _ := url.Parse(u)
		signed = b.ResolveReference(signed)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, signed.String(), io.NopCloser(body))
	if err != nil {
		return err
	}
	req.ContentLength = size
	put, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("upload %s: PUT: %w", path, err)
	}
	defer put.Body.Close()
	if put.StatusCode/100 != 2 {
		return fmt.Errorf("upload %s: PUT %s: %s: %s", path, redact(signed.String()), put.Status, snippet(put.Body))
	}
	io.Copy(io.Discard, put.Body)
	return nil
}

// download fetches path as uploaded by stage (spec §8.2).
func download(ctx context.Context, m *Manifest, stage, path string, limit int64) ([]byte, error) {
	u, err := fileURL(m.DownloadURLs[stage], path)
	if err != nil {
		return nil, fmt.Errorf("download %s: downloadUrls[%q]: %w", path, stage, err)
	}
	resp, err := get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("download %s from stage %s: %w", path, stage, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("download %s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// Status is results.json status (spec §7.1).
type Status struct {
	Code        string  `json:"code"`
	Title       *string `json:"title"`
	Explanation *string `json:"explanation"`
	Backtrace   *string `json:"backtrace"`
}

var successStatus = Status{Code: "success"}

func errorStatus(title string, err error) Status {
	expl := err.Error()
	return Status{Code: "error", Title: &title, Explanation: &expl}
}

// writeJSON writes v to path (relative to the working directory) through
// a temporary file, so a crash never leaves half a file.
func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep jsx readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// updatesWriter streams data.json (spec §9.3, the seed's shape):
// {"category": ..., "properties": [...], "updates": [[user_id, value...], ...]}.
type updatesWriter struct {
	path, tmp string
	f         *os.File
	w         *bufio.Writer
	n         int
}

func newUpdatesWriter(path, category string, properties []string) (*updatesWriter, error) {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	u := &updatesWriter{path: path, tmp: tmp, f: f, w: bufio.NewWriterSize(f, 1<<16)}
	cb, _ := json.Marshal(category)
	pb, _ := json.Marshal(properties)
	fmt.Fprintf(u.w, "{\"category\":%s,\"properties\":%s,\"updates\":[", cb, pb)
	return u, nil
}

// add appends one user's row: the id, then one value per property.
func (u *updatesWriter) add(id string, values ...any) error {
	row, err := json.Marshal(append([]any{id}, values...))
	if err != nil {
		return err
	}
	if u.n > 0 {
		u.w.WriteByte(',')
	}
	u.w.WriteString("\n")
	u.n++
	_, err = u.w.Write(row)
	return err
}

// close finishes the file and moves it into place.
func (u *updatesWriter) close() error {
	u.w.WriteString("\n]}\n")
	if err := u.w.Flush(); err != nil {
		return err
	}
	if err := u.f.Close(); err != nil {
		return err
	}
	u.f = nil
	return os.Rename(u.tmp, u.path)
}

// abort drops an unfinished file (a no-op after close).
func (u *updatesWriter) abort() {
	if u.f != nil {
		u.f.Close()
		os.Remove(u.tmp)
	}
}
