package api_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
)

// blankArray is gzip of "[" + n spaces + records + n spaces + "]", written
// in pieces so the test never holds the plain body.
func blankArray(t *testing.T, n int, records string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	write := func(p []byte) {
		if _, err := zw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	blanks := func() {
		for left := n; left > 0; left -= len(spaces) {
			write(spaces[:min(left, len(spaces))])
		}
	}
	write([]byte("["))
	blanks()
	write([]byte(records))
	blanks()
	write([]byte("]"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIngestBlankSpaceIsLinear: the probe sent 80 KB of gzip expanding to
// "[" + 80 MiB of spaces + "]", which held an ingest slot for 50 s while
// encoding/json rescanned the blanks at each refill: 32 MiB of them took
// 22 s that way, so 48 MiB some 50 s and the 64 MiB before the limit some
// 90 s. Decoded linearly they take a second or two, and a body over the
// limit is refused as soon as the limit is crossed. The bounds leave room
// for a loaded machine.
func TestIngestBlankSpaceIsLinear(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			s := newServer(t, backend, api.Config{})
			gz := map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}
			body := blankArray(t, 24<<20, rec("blank", "page_view", 0, "{}"))
			start := time.Now()
			r := s.do(t, "POST", "/v1/events", gz, body)
			took := time.Since(start)
			if res := decode[ingestResult](t, r); r.status != 200 || res.Accepted != 1 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if took > 20*time.Second {
				t.Errorf("48 MiB of blank space took %v to decode, want a few seconds (linear)", took)
			}
			t.Logf("48 MiB of blanks: %v", took)

			body = blankArray(t, 40<<20, "") // 80 MiB, over the 64 MiB limit
			start = time.Now()
			r = s.do(t, "POST", "/v1/events", gz, body)
			took = time.Since(start)
			if took > 30*time.Second {
				t.Errorf("the 413 took %v", took)
			}
			t.Logf("413 after %v", took)
			expectError(t, r, 413, "body_too_large", "over the limit")
		})
	}
}

// TestUnstorableStringsAreRecordErrors: a lone UTF-16 surrogate or a NUL
// anywhere in a record (payload keys and values, nested) fails that record
// only, in the shape of every other bad record, on both backends; the
// good records are stored.
func TestUnstorableStringsAreRecordErrors(t *testing.T) {
	bad := []struct{ payload, msg string }{
		{`{"x":"\udc00x"}`, `payload: contains \udc00, half of a UTF-16 surrogate pair`},
		{`{"x":"\ud800"}`, `payload: contains \ud800, half of a UTF-16 surrogate pair`},
		{`{"x":"\ud800\u0041"}`, `payload: contains \ud800`},
		{`{"\udfff":1}`, `payload: contains \udfff`},
		{`{"a":{"b":["ok","\uDC00"]}}`, `payload: contains \uDC00`},
		{`{"x":"a\u0000b"}`, `payload: contains \u0000`},
		{`{"k\u0000":1}`, `payload: contains \u0000`},
	}
	good := []string{`{"x":"\ud83d\ude00"}`, `{"x":"\\udc00 is text here"}`, `{"x":"\\\\\\u0041"}`, `{"ok":true}`}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			for _, format := range []string{"application/x-ndjson", "application/json"} {
				var records []string
				want := map[int]string{}
				for i, b := range bad {
					records = append(records, rec(fmt.Sprintf("%s-bad-%d", format, i), "page_view", i, b.payload))
					want[len(records)-1] = b.msg
					records = append(records, rec(fmt.Sprintf("%s-good-%d", format, i), "page_view", i, good[i%len(good)]))
				}
				// The other string fields: source_id and type are checked
				// against their patterns, the id as UTF-8 without NUL.
				records = append(records, strings.Replace(rec("", "page_view", 1, "{}"), `"web"`, `"w\udc00"`, 1))
				want[len(records)-1] = "source_id: \"w\uFFFD\" must be"
				records = append(records, strings.Replace(rec("", "page_view", 1, "{}"), `"page_view"`, `"t\u0000"`, 1))
				want[len(records)-1] = `type: "t\x00" must be`
				records = append(records, strings.Replace(rec("", "page_view", 1, "{}"), `{`, `{"id":"id\u0000",`, 1))
				want[len(records)-1] = `id: must be valid UTF-8 without NUL`
				body := strings.Join(records, "\n")
				if format == "application/json" {
					body = "[" + strings.Join(records, ",") + "]"
				}
				r := s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": format}, []byte(body))
				res := decode[ingestResult](t, r)
				if r.status != 200 || res.Accepted != len(bad) || len(res.Rejected) != len(want) {
					t.Fatalf("%s: %d %s", format, r.status, r.body)
				}
				for _, rej := range res.Rejected {
					msg := rej.Error // "field: reason"
					if !strings.HasPrefix(msg, want[rej.Index]) {
						t.Errorf("%s: record %d refused with %q, want %q", format, rej.Index, msg, want[rej.Index])
					}
				}
			}
			if st := s.stats(t); st.Events != int64(2*len(bad)) {
				t.Errorf("%d events stored, want %d", st.Events, 2*len(bad))
			}
		})
	}
}

// TestUnstorableNumbersAndDeepPayloads: numbers PostgreSQL's numeric
// refuses (1e1000000, 200,000 digits) failed the whole request there with
// a 500; they are refused per record on both backends. Payloads nested
// thousands deep are stored on both.
func TestUnstorableNumbersAndDeepPayloads(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			payloads := []string{
				`{"x":1e1000000}`, `{"x":1e-1000000}`, `{"x":` + strings.Repeat("9", 200000) + `}`,
				`{"x":1e400}`, `{"deep":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}`,
			}
			var lines []string
			for i, p := range payloads {
				lines = append(lines, rec("", "page_view", i, p))
			}
			r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(lines, "\n")))
			res := decode[ingestResult](t, r)
			if r.status != 200 || res.Accepted != 2 || len(res.Rejected) != 3 {
				t.Fatalf("%d %.500s", r.status, r.body)
			}
			for i, rej := range res.Rejected {
				if rej.Index != i || rej.Field != "payload" || !strings.HasPrefix(rej.Error, "payload: has ") {
					t.Errorf("rejection %+v", rej)
				}
			}
		})
	}
}

// TestMetricsLabelsAreBounded: requests with invented methods (the probe's
// 100 long ones made every scrape 170 MB) and unknown paths add no series:
// methods are labelled only when known, routes only by their pattern.
func TestMetricsLabelsAreBounded(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{})
	invented := func(i int) {
		method := fmt.Sprintf("X%d%s", i, strings.Repeat("M", 2000))
		r := s.do(t, method, fmt.Sprintf("/v1/events/%d/%s", i, strings.Repeat("p", 2000)), nil, nil)
		if r.status != 404 && r.status != 405 {
			t.Fatalf("invented method: %d %s", r.status, r.body)
		}
	}
	scrape := func() string {
		r := s.do(t, "GET", "/metrics", nil, nil)
		return string(r.body)
	}
	invented(0)
	scrape() // the scrapes' own series
	before := scrape()
	for i := 1; i <= 100; i++ {
		invented(i)
	}
	after := scrape()
	if grown := len(after) - len(before); grown > 500 {
		t.Errorf("the scrape grew by %d bytes after 100 requests with invented methods", grown)
	}
	for _, leak := range []string{"MMMM", "pppp"} {
		if strings.Contains(after, leak) {
			t.Errorf("the scrape holds a raw method or path (%s)", leak)
		}
	}
	if !strings.Contains(after, `method="other"`) {
		t.Errorf("no series for other methods:\n%s", after)
	}
	// Known routes keep their pattern, known methods their name.
	s.do(t, "GET", "/v1/entities/some-id-1", nil, nil)
	if got := scrape(); !strings.Contains(got, `method="GET",route="GET /v1/entities/{id}"`) {
		t.Errorf("no series for GET /v1/entities/{id}:\n%s", got)
	}
}

// TestErrorsClipEchoedValues: a 100 KB source_id gave a 100 KB error.
// Echoed values are cut at 200 bytes, with their length.
func TestErrorsClipEchoedValues(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			huge := strings.Repeat("s", 100_000)
			body := strings.Replace(rec("", "page_view", 0, "{}"), `"web"`, `"`+huge+`"`, 1) + "\n" +
				fmt.Sprintf(`{"source_id":"web","type":"t","version":"1","event_time":"%s","payload":{}}`, huge) + "\n" +
				fmt.Sprintf(`{"source_id":"web","type":"t","version":"1","event_time":1,"payload":{},"%s":1}`, huge) + "\n" +
				rec("", "page_view", 0, "{}")
			r := s.do(t, "POST", "/v1/events", nil, []byte(body))
			res := decode[ingestResult](t, r)
			if r.status != 200 || res.Accepted != 1 || len(res.Rejected) != 3 {
				t.Fatalf("%d %.500s", r.status, r.body)
			}
			if len(r.body) > 2000 {
				t.Errorf("the answer is %d bytes: %.300s", len(r.body), r.body)
			}
			if e := res.Rejected[0].Error; !strings.Contains(e, strings.Repeat("s", 200)+`"… (100000 bytes in all) must be`) {
				t.Errorf("source_id error %.400q", e)
			}
			for _, path := range []string{
				"/v1/entities/" + huge,
				"/v1/events?limit=" + huge,
				"/v1/" + huge,
			} {
				r := s.do(t, "GET", path, nil, nil)
				if r.status < 400 || len(r.body) > 1000 || !strings.Contains(string(r.body), "bytes in all)") {
					t.Errorf("GET %.40s: %d, %d bytes: %.300s", path, r.status, len(r.body), r.body)
				}
			}
			r = s.do(t, "POST", "/v1/events", map[string]string{"Content-Type": "application/" + huge}, []byte("{}"))
			if r.status != 415 || len(r.body) > 1000 {
				t.Errorf("content type: %d, %d bytes", r.status, len(r.body))
			}
		})
	}
}

// stall opens a connection that sends a request's headers with a large
// Content-Length and a few bytes of body, then nothing; the returned
// function reads the answer (status line) once the server gives one.
func stall(t *testing.T, url, path string) func() string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 50000000\r\n\r\n{\"source_id\":", path)
	return func() string {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return "no answer: " + err.Error()
		}
		return strings.TrimSpace(line)
	}
}

// TestStalledBodiesDoNotBlockIngest: four connections that sent headers
// with a large Content-Length and then stalled took the four ingest slots
// for good. A body that stops arriving for the body read timeout ends its
// request with 408, and a normal ingest meanwhile gets through; an upload
// that is slow but keeps coming is not cut.
func TestStalledBodiesDoNotBlockIngest(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{BodyReadTimeout: 500 * time.Millisecond})
			var answers []func() string
			for range api.MaxConcurrentIngestDefault + 2 {
				answers = append(answers, stall(t, s.URL, "/v1/events"))
			}
			answers = append(answers, stall(t, s.URL, "/v1/graphql"))
			time.Sleep(100 * time.Millisecond) // the stalled requests hold the slots
			start := time.Now()
			r := s.do(t, "POST", "/v1/events", nil, []byte(rec("", "page_view", 0, "{}")))
			if res := decode[ingestResult](t, r); r.status != 200 || res.Accepted != 1 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the normal ingest waited %v behind stalled bodies", took)
			}
			for i, answer := range answers {
				if got := answer(); !strings.HasPrefix(got, "HTTP/1.1 408") {
					t.Errorf("stalled request %d: %q, want 408", i, got)
				}
			}

			// Slow but moving: 12 pieces, 300 ms apart (3.6 s in all, each
			// wait under the 500 ms timeout).
			pr, pw := io.Pipe()
			go func() {
				for i := range 12 {
					fmt.Fprintln(pw, rec(fmt.Sprintf("slow-%d", i), "page_view", i, "{}"))
					time.Sleep(300 * time.Millisecond)
				}
				pw.Close()
			}()
			resp, err := http.Post(s.URL+"/v1/events", "application/x-ndjson", pr)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var res ingestResult
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || res.Accepted != 12 {
				t.Fatalf("slow upload: %d %+v %v", resp.StatusCode, res, err)
			}
		})
	}
}

// TestSmallBodiesRefuseUnstorableText: the small JSON bodies of the job,
// stitching and preview routes refuse a lone UTF-16 surrogate and \u0000
// with a 400 naming it, instead of storing U+FFFD the client never sent;
// the same body without it is taken.
func TestSmallBodiesRefuseUnstorableText(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{})
	for _, body := range []string{`{"note":"\ud800"}`, `{"note":"a\u0000b"}`, `{"n\udc00":1}`} {
		r := s.do(t, "POST", "/v1/jobs/stitching/runs", nil, []byte(body))
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `contains \\u`) {
			t.Errorf("POST /v1/jobs/stitching/runs %s: %d %s, want 400 naming the escape", body, r.status, r.body)
		}
	}
	if r := s.do(t, "POST", "/v1/stitching/run", nil, []byte(`{"from_scratch":"\udfff"}`)); r.status != http.StatusBadRequest {
		t.Errorf("POST /v1/stitching/run with a lone surrogate: %d %s", r.status, r.body)
	}
	if r := s.do(t, "POST", "/v1/jobs/stitching/runs", nil, []byte(`{"from_scratch":false}`)); r.status >= 300 {
		t.Errorf("POST /v1/jobs/stitching/runs with a good body: %d %s", r.status, r.body)
	}
}
