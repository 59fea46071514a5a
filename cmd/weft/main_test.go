package main_test

// End-to-end tests: they build the weft binary and run it as a user would,
// as real subprocesses talking HTTP.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/roundtrip"
	"github.com/weftdata/weft/internal/store/pgtest"
)

// bin is weft; customBin is weft with the test job of testdata/customweft.
var bin, customBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weft-e2e-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "weft")
	customBin = filepath.Join(dir, "customweft")
	for out, pkg := range map[string]string{bin: ".", customBin: "./testdata/customweft"} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, msg)
			os.Exit(1)
		}
	}
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a weft subprocess.
type proc struct {
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startBin(t, bin, args...)
}

// startBin starts a weft binary.
func startBin(t *testing.T, path string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(path, args...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "WEFT_API_KEYS=", "WEFT_DB=", "WEFT_DATA=")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("weft %s stderr:\n%s", strings.Join(args, " "), p.stderr)
		}
	})
	return p
}

// ingestFile sends a file with weft ingest and fails the test unless every
// record was accepted within the time.
func ingestFile(t *testing.T, base, path string, within time.Duration) {
	t.Helper()
	if p := start(t, "ingest", "--server", base, path); p.wait(t, within) != 0 {
		t.Fatalf("ingest: %s", p.stderr)
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
	p.done <- nil // let Cleanup's receive return
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		p.done <- nil // let Cleanup's receive return
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("weft did not exit within %s; stderr:\n%s", within, p.stderr)
		return -1
	}
}

func waitHealthy(t *testing.T, base string, p *proc) {
	t.Helper()
	c := client.New(base, "")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c.Healthy(context.Background()) == nil {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("weft exited early: %s", p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("weft at %s not healthy in time: %s", base, p.stderr)
}

// httpDo sends a request, with x-api-key when key is set and a JSON body
// when body is, and returns the answer.
func httpDo(t *testing.T, method, url, key string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	a := roundtrip.Do(t, method, url, body, "Content-Type", contentType, "x-api-key", key)
	return a.Status, a.Header, a.Body
}

func serveArgs(t *testing.T, backend, addr string) []string {
	args := []string{"serve", "--addr", addr, "--log-level", "warn"}
	if backend == "postgres" {
		// Plugin storage and the server key default to ./weft-data beside a
		// PostgreSQL store.
		return append(args, "--db", pgtest.URL(t), "--data", t.TempDir(), "--plugin-storage", "file://"+filepath.ToSlash(t.TempDir()))
	}
	return append(args, "--data", t.TempDir())
}

// TestCrashDuringIngest kills the server with SIGKILL while clients are
// sending, restarts it, and checks that every event whose batch got a 200
// is there exactly once, whether it carried an id or had one derived.
func TestCrashDuringIngest(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			addr := freeAddr(t)
			base := "http://" + addr
			args := serveArgs(t, backend, addr)
			srv := start(t, args...)
			waitHealthy(t, base, srv)

			var (
				mu      sync.Mutex
				acked   [][]byte // bodies answered 200
				markers []string // markers of acked events
				nAcked  atomic.Int64
				wg      sync.WaitGroup
			)
			c := client.New(base, "")
			for w := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for b := 0; ; b++ {
						var body bytes.Buffer
						var ms []string
						for i := range 500 {
							m := fmt.Sprintf("w%d-b%d-%d", w, b, i)
							id := ""
							if i%2 == 0 {
								id = `"id":"` + m + `",`
							}
							fmt.Fprintf(&body, `{%s"source_id":"crash","type":"test","version":"1-0-0","event_time":%d,"payload":{"m":%q,"pad":"%s"}}`+"\n",
								id, 1767323045000+i, m, strings.Repeat("x", 200))
							ms = append(ms, m)
						}
						res, err := c.IngestBody(context.Background(), body.Bytes(), "application/x-ndjson", false)
						if err != nil {
							return // the server is gone
						}
						if res.Accepted != 500 {
							t.Errorf("batch accepted %d of 500: %+v", res.Accepted, res)
							return
						}
						mu.Lock()
						acked = append(acked, body.Bytes())
						markers = append(markers, ms...)
						mu.Unlock()
						nAcked.Add(1)
					}
				}()
			}
			for nAcked.Load() < 20 {
				time.Sleep(5 * time.Millisecond)
			}
			if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			srv.wait(t, 10*time.Second)

			srv2 := start(t, args...)
			waitHealthy(t, base, srv2)
			counts := map[string]int{}
			for after := int64(0); ; {
				page, err := c.Events(context.Background(), client.EventsParams{AfterSeq: after, Limit: 10000})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Events) == 0 {
					break
				}
				for _, e := range page.Events {
					var p struct{ M string }
					if err := json.Unmarshal(e.Payload, &p); err != nil {
						t.Fatal(err)
					}
					counts[p.M]++
				}
				after = page.NextAfterSeq
			}
			for m, n := range counts {
				if n != 1 {
					t.Errorf("event %s stored %d times", m, n)
				}
			}
			for _, m := range markers {
				if counts[m] != 1 {
					t.Fatalf("acknowledged event %s is missing after the crash", m)
				}
			}
			t.Logf("%d events acknowledged before SIGKILL, %d stored", len(markers), len(counts))
			// Resending what was acknowledged stores nothing twice.
			for _, body := range acked[:3] {
				res, err := c.IngestBody(context.Background(), body, "application/x-ndjson", false)
				if err != nil || res.Accepted != 0 || res.Duplicates != 500 {
					t.Fatalf("resend after restart: %+v %v", res, err)
				}
			}
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	addr := freeAddr(t)
	srv := start(t, "serve", "--addr", addr, "--data", t.TempDir())
	waitHealthy(t, "http://"+addr, srv)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; stderr:\n%s", code, srv.stderr)
	}
	if !strings.Contains(srv.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log: %s", srv.stderr)
	}
	// The start is logged with the console's URL.
	if !strings.Contains(srv.stderr.String(), "console=http://"+addr+"/console/") {
		t.Errorf("the start log does not give the console's URL: %s", srv.stderr)
	}
}

func TestServeRefusesOpenAddressWithoutKeys(t *testing.T) {
	p := start(t, "serve", "--addr", "0.0.0.0:0", "--data", t.TempDir())
	if code := p.wait(t, 30*time.Second); code == 0 {
		t.Fatal("serve on 0.0.0.0 without API keys started")
	}
	if !strings.Contains(p.stderr.String(), "--api-key") {
		t.Errorf("message does not say what to do: %s", p.stderr)
	}
	p = start(t, "serve", "--db", "mysql://x", "--data", t.TempDir())
	if code := p.wait(t, 30*time.Second); code == 0 || !strings.Contains(p.stderr.String(), "postgres://") {
		t.Errorf("a non-postgres --db: exit %d, %s", code, p.stderr)
	}
}

func TestAPIKeyFromEnvironment(t *testing.T) {
	addr := freeAddr(t)
	srv := exec.Command(bin, "serve", "--addr", addr, "--data", t.TempDir())
	srv.Env = append(os.Environ(), "WEFT_API_KEYS=secret1, secret2")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	base := "http://" + addr
	c := client.New(base, "secret2")
	deadline := time.Now().Add(60 * time.Second)
	for c.Healthy(context.Background()) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.Stats(context.Background()); err != nil {
		t.Fatalf("with the key: %v", err)
	}
	if _, err := client.New(base, "").Stats(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without the key: %v", err)
	}
}

func TestIngestCommand(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	srv := start(t, serveArgs(t, "duckdb", addr)...)
	waitHealthy(t, base, srv)
	dir := t.TempDir()
	var nd strings.Builder
	for i := range 12000 {
		fmt.Fprintf(&nd, `{"id":"n%d","source_id":"web","type":"page_view","version":"1-0-0","event_time":%d,"payload":{"i":%d}}`+"\n", i, 1767323045000+i, i)
		if i == 7000 {
			nd.WriteString(`{"source_id":"web","type":"page_view","version":"1-0-0","event_time":"soon","payload":{}}` + "\n")
		}
	}
	ndPath := filepath.Join(dir, "events.ndjson")
	os.WriteFile(ndPath, []byte(nd.String()), 0o644)
	arrPath := filepath.Join(dir, "events.json")
	os.WriteFile(arrPath, []byte(`[
 {"source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2026-01-02T03:04:05Z","payload":{"email":"a@x.io"}},
 {"source_id":"crm","type":"customer_update","version":"1-0-0","event_time":"2026-01-02T03:04:05Z","payload":[]}
]`), 0o644)

	p := start(t, "ingest", "--server", base, "--batch-size", "5000", ndPath, arrPath, ndPath)
	if code := p.wait(t, 60*time.Second); code != 2 {
		t.Fatalf("exit code %d, want 2 (some records rejected); stderr: %s", code, p.stderr)
	}
	out := p.stdout.String()
	for _, want := range []string{
		"24004 records",
		"12001 accepted, 12000 duplicates, 3 rejected",
		"rejected " + ndPath + ":7002: event_time:",
		"rejected " + arrPath + "[1]: payload: must be a JSON object",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// stdin, and events tail.
	tail := exec.Command(bin, "ingest", "--server", base, "-")
	tail.Stdin = strings.NewReader(`{"source_id":"web","type":"page_view","version":"1-0-0","event_time":1767400000000,"payload":{"last":true}}`)
	if out, err := tail.CombinedOutput(); err != nil || !strings.Contains(string(out), "1 accepted") {
		t.Fatalf("ingest from stdin: %v %s", err, out)
	}
	p = start(t, "events", "tail", "--server", base, "-n", "3")
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("events tail: exit %d: %s", code, p.stderr)
	}
	lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], `{"last":true}`) || !strings.Contains(lines[2], "web/page_view/1-0-0") {
		t.Errorf("tail printed:\n%s", p.stdout)
	}
}

func TestQuickstart(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	p := start(t, "quickstart", "--addr", addr, "--customers", "300", "--data", t.TempDir())
	deadline := time.Now().Add(120 * time.Second)
	for !strings.Contains(p.stdout.String(), "Serving until Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("quickstart did not finish loading; stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		}
		select {
		case <-p.done:
			t.Fatalf("quickstart exited; stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	out := p.stdout.String()
	st, err := client.New(base, "").Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The demo's events, then the delivery demo's impressions, clicks
	// and delivery logs (source delivery), which come after.
	m := regexp.MustCompile(`: (\d+) accepted, 0 duplicates, 0 rejected`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("quickstart output lacks the ingest summary:\n%s", out)
	}
	demoEvents, _ := strconv.ParseInt(m[1], 10, 64)
	if demoEvents < 300*3 || st.Events <= demoEvents || st.EventTypes != 7 || st.Sources != 4 {
		t.Errorf("stats after quickstart (%d demo events) %+v", demoEvents, st)
	}
	// The delivery demo's other visitors become entities of their own.
	var stitched int64
	if m := regexp.MustCompile(`into (\d+) customer entities`).FindStringSubmatch(out); m != nil {
		stitched, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if st.StitchedSeq < demoEvents || stitched < 300 || st.Entities < stitched || st.Audit["max_per_entity"].Events == 0 {
		t.Errorf("quickstart did not stitch the demo data: %+v", st)
	}
	for _, want := range []string{"Weft is running at " + base, "\nconsole: " + base + "/console/\n", "\n  " + base + "/console/ (the web console, in a browser)\n", "shop/purchase/1-0-0", "curl " + base + "/v1/stats",
		"Ranked 16 demo products for the browser ck_", "through POST /deliver, the first page of 5:", "score ", " = retrieval ",
		"page_category 0.50", "With disablePersonalization: SKU-", "curl -X POST " + base + "/deliver",
		"Applied the demo weft.yaml", "pairwise precision 1.0000, recall 0.", "weft profiles get --server " + base + " email:",
		"Calculated 23 attributes (every type of calculation)", "; 0 failed.", "    total_spend: ", "    emails: [\"",
		"crm_stores (blob_import, daily at 06:00 UTC)", "ended COMPLETE after 5 performs: Imported 60 records from 3 files", "into objects:stores; 1 row rejected",
		"(40 distinct stores in the files", "Ran the example plugin conversion-likelihood", "conversion-likelihood COMPLETE (succeeded)",
		"published conversion-likelihood/", "now has plugin properties:", "/conversion_likelihood: 0.", "weft plugins runs --server " + base,
		// The hints name this binary by the path it was started as.
		"\n  " + bin + " jobs list --server " + base + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
	// How many merges the line reports depends on whether the server's
	// stitching loop ran while the demo was still arriving (a pass over
	// part of the log makes entities that later events merge); the
	// partition itself is held to the generator's truth by the precision
	// above.
	if !regexp.MustCompile(`\) into [1-9][0-9]* customer entities \([0-9]+ merges\)\.`).MatchString(out) {
		t.Errorf("quickstart output lacks the stitched entities and merges:\n%s", out)
	}
	resp, err := http.Get(base + "/v1/objects/stores?first=1000")
	if err != nil {
		t.Fatal(err)
	}
	var stores struct{ Records []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&stores); err != nil || len(stores.Records) != 40 || stores.Records[0]["name"] != "Prague 1" {
		t.Errorf("stores after quickstart: %v %+v", err, stores.Records)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// POST /v1/events counts; the delivery demo's /log and delivery logs
	// are not ingestion.
	if !strings.Contains(string(metrics), fmt.Sprintf("weft_events_ingested_total %d", demoEvents)) {
		t.Errorf("metrics do not count the %d ingested events", demoEvents)
	}
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("quickstart exit code %d after Ctrl-C", code)
	}
}
