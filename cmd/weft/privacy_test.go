package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/privacy"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// privacyPeople are the events of two people, as a JSON array: ann (8
// events) and bob (3).
func privacyPeople() []byte {
	var evs []string
	for i := range 8 {
		evs = append(evs, fmt.Sprintf(`{"id":"ann-%d","source_id":"shop","type":"order","version":"1-0-0","event_time":%d,"payload":{"email":"ann@example.org","marker":"ann-marker"}}`, i, 1767323045000+i))
	}
	for i := range 3 {
		evs = append(evs, fmt.Sprintf(`{"id":"bob-%d","source_id":"shop","type":"order","version":"1-0-0","event_time":%d,"payload":{"email":"bob@example.org","marker":"bob-marker"}}`, i, 1767323046000+i))
	}
	return []byte("[" + strings.Join(evs, ",") + "]")
}

// holdingReceiver is a controller's callback endpoint that holds every
// in_progress callback until released: the processor is then inside a
// request, where the test kills it.
type holdingReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []string
	held     chan struct{} // gets a value when a callback is held
	release  chan struct{}
}

func newHoldingReceiver(t *testing.T) *holdingReceiver {
	r := &holdingReceiver{held: make(chan struct{}, 10), release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var cb privacy.Callback
		body, _ := io.ReadAll(req.Body)
		if json.Unmarshal(body, &cb) != nil || req.Header.Get(privacy.HeaderSignature) == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.statuses = append(r.statuses, cb.RequestStatus)
		r.mu.Unlock()
		if cb.RequestStatus == privacy.StatusInProgress {
			r.held <- struct{}{}
			<-r.release
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(func() {
		r.open()
		r.Close()
	})
	return r
}

func (r *holdingReceiver) open() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

func (r *holdingReceiver) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.statuses, ",")
}

// TestPrivacyResumesAfterKill kills weft serve with SIGKILL while it
// carries out a privacy request (between in_progress and the work), starts
// it again and checks that the request is finished: callbacks resent, the
// export (or erasure) done. Then the CLI reads the status and downloads an
// export.
func TestPrivacyResumesAfterKill(t *testing.T) {
	for _, backend := range dbtest.Backends {
		for _, typ := range []string{privacy.TypeAccess, privacy.TypeErasure} {
			t.Run(backend+"/"+typ, func(t *testing.T) {
				addr := freeAddr(t)
				base := "http://" + addr
				// A short lease: on PostgreSQL the killed worker's run is
				// taken over when its lease expires.
				args := append(serveArgs(t, backend, addr), "--job-lease", "2s", "--stitch-interval", "-1s")
				srv := start(t, args...)
				waitHealthy(t, base, srv)
				if code, _, body := httpDo(t, "PUT", base+"/v1/config", "", []byte("stitching:\n  rules:\n    - {identifier: email, event: shop/order, value_expression: \"payload->>'email'\"}\n")); code != 200 {
					t.Fatalf("apply: %d %s", code, body)
				}
				if code, _, body := httpDo(t, "POST", base+"/v1/events", "", privacyPeople()); code != 200 {
					t.Fatalf("ingest: %d %s", code, body)
				}
				if code, _, body := httpDo(t, "POST", base+"/v1/stitching/run", "", nil); code != 200 {
					t.Fatalf("stitch: %d %s", code, body)
				}

				rcv := newHoldingReceiver(t)
				id := "0f9e8d7c-6b5a-4c3d-8e1f-0a1b2c3d4e5f"
				req, _ := json.Marshal(privacy.Request{SubjectRequestID: id, SubjectRequestType: typ, SubmittedTime: "2026-12-01T10:00:00Z",
					SubjectIdentities:  []privacy.Identity{{Type: "email", Value: "ann@example.org", Format: privacy.FormatRaw}},
					StatusCallbackURLs: []string{rcv.URL}})
				if code, _, body := httpDo(t, "POST", base+"/v1/privacy/requests", "", req); code != 201 {
					t.Fatalf("create: %d %s", code, body)
				}
				select {
				case <-rcv.held:
				case <-time.After(60 * time.Second):
					t.Fatalf("no in_progress callback: %s", srv.stderr)
				}
				srv.kill()

				srv2 := start(t, args...)
				waitHealthy(t, base, srv2)
				select { // the resumed request calls back in_progress again
				case <-rcv.held:
				case <-time.After(60 * time.Second):
					t.Fatalf("the request did not resume; callbacks %s; stderr: %s", rcv.got(), srv2.stderr)
				}
				rcv.open()

				p := start(t, "privacy", "status", id, "--server", base, "--json")
				if p.wait(t, 30*time.Second) != 0 {
					t.Fatalf("privacy status: %s", p.stderr)
				}
				deadline := time.Now().Add(60 * time.Second)
				var st privacy.Status
				for {
					code, _, body := httpDo(t, "GET", base+"/v1/privacy/requests/"+id, "", nil)
					if code != 200 || json.Unmarshal(body, &st) != nil {
						t.Fatalf("status: %d %s", code, body)
					}
					if st.RequestStatus == privacy.StatusCompleted {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("not completed after the restart: %s; stderr: %s", body, srv2.stderr)
					}
					time.Sleep(100 * time.Millisecond)
				}
				for deadline := time.Now().Add(30 * time.Second); rcv.got() != "in_progress,in_progress,completed"; {
					if time.Now().After(deadline) {
						t.Fatalf("callbacks %s, want in_progress (killed), in_progress (resumed), completed", rcv.got())
					}
					time.Sleep(20 * time.Millisecond)
				}
				if typ == privacy.TypeErasure {
					if st.Result == nil || st.Result.Erased == nil || st.Result.Erased.Events != 8 {
						t.Errorf("erasure result: %+v", st.Result)
					}
					if code, _, body := httpDo(t, "GET", base+"/v1/entities?identifier=email:ann@example.org", "", nil); code != 404 {
						t.Errorf("ann after the erasure: %d %s", code, body)
					}
					_, _, body := httpDo(t, "GET", base+"/v1/events?limit=100", "", nil)
					if bytes.Contains(body, []byte("ann")) || bytes.Count(body, []byte("bob-marker")) != 3 {
						t.Errorf("events after the erasure: %s", body)
					}
					// The CLI erases bob and waits.
					p := start(t, "privacy", "erase", "--identity", "email:bob@example.org", "--wait", "--server", base)
					if p.wait(t, 60*time.Second) != 0 || !strings.Contains(p.stdout.String(), "status    completed") ||
						!strings.Contains(p.stdout.String(), "erased    1 entities, 3 events") {
						t.Fatalf("privacy erase: %s %s", p.stdout, p.stderr)
					}
					_, _, body = httpDo(t, "GET", base+"/v1/events?limit=100", "", nil)
					if bytes.Contains(body, []byte("bob")) {
						t.Errorf("events after the CLI erasure: %s", body)
					}
					return
				}
				if st.Result == nil || st.Result.Events == nil || *st.Result.Events != 8 {
					t.Errorf("export result: %+v", st.Result)
				}

				// The CLI sends another request, waits and downloads it.
				out := t.TempDir()
				p = start(t, "privacy", "export", "--identity", "email:ann@example.org", "--out", out, "--server", base)
				if p.wait(t, 60*time.Second) != 0 {
					t.Fatalf("privacy export: %s %s", p.stdout, p.stderr)
				}
				events, err := os.ReadFile(filepath.Join(out, privacy.EventsFile))
				if err != nil || bytes.Count(events, []byte("ann-marker")) != 8 || bytes.Contains(events, []byte("bob")) {
					t.Errorf("downloaded events: %v %s", err, events)
				}
				doc, err := os.ReadFile(filepath.Join(out, privacy.DocumentFile))
				if err != nil || !bytes.Contains(doc, []byte(`"ann@example.org"`)) || bytes.Contains(doc, []byte("bob")) {
					t.Errorf("downloaded document: %v %s", err, doc)
				}
				if !strings.Contains(p.stdout.String(), "access request ") || !strings.Contains(p.stdout.String(), "status    completed") {
					t.Errorf("privacy export printed: %s", p.stdout)
				}
				p = start(t, "privacy", "export", "--identity", "nocolon", "--server", base)
				if p.wait(t, 30*time.Second) != 2 || !strings.Contains(p.stderr.String(), `--identity "nocolon" must be category:value`) {
					t.Errorf("bad --identity: %s", p.stderr)
				}
			})
		}
	}
}
