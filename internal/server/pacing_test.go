package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

// startPaced starts a server of the backend whose background stitching
// ticks every 100 ms and waits at most maxDelay for a saturating load.
func startPaced(t *testing.T, backend string, maxDelay time.Duration) *Server {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), StitchInterval: 100 * time.Millisecond,
		StitchMaxDelay: maxDelay, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if backend == "postgres" {
		cfg.DB = pgtest.URL(t)
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

// sendLoad posts NDJSON batches of demo events from clients goroutines
// until stop closes, each waiting for its answer before the next, so the
// server always has work: a bulk load. It returns the events accepted.
func sendLoad(t *testing.T, url string, clients, batch int, pause time.Duration, stop <-chan struct{}) func() int64 {
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next, end := iterPull(demo.Options{Seed: uint64(100 + c), Customers: 5000}, 1<<30)
			defer end()
			var body bytes.Buffer
			for {
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
				body.Reset()
				for range batch {
					e, _ := next()
					body.Write(e.AppendJSON(nil))
					body.WriteByte('\n')
				}
				resp, err := http.Post(url+"/v1/events", "application/x-ndjson", bytes.NewReader(body.Bytes()))
				if err != nil {
					t.Error(err)
					return
				}
				var res struct{ Accepted int64 }
				err = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("ingest: %d %v", resp.StatusCode, err)
					return
				}
				accepted.Add(res.Accepted)
			}
		}()
	}
	return func() int64 { wg.Wait(); return accepted.Load() }
}

func iterPull(o demo.Options, n int) (func() (demo.Event, bool), func()) {
	return iter.Pull(demo.Stream(o, n))
}

// stitchRunsCreated are the creation times of the runs of the stitching
// job that the background loop asked for.
func stitchRunsCreated(t *testing.T, url string) []time.Time {
	t.Helper()
	var out struct{ Runs []store.JobRun }
	status, body := do(t, "GET", url+"/v1/jobs/runs?job=stitching&limit=1000", "")
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("runs: %d %s", status, body)
	}
	var at []time.Time
	for _, r := range out.Runs {
		if r.Trigger == "events" {
			at = append(at, r.CreatedAt)
		}
	}
	return at
}

func stats(t *testing.T, url string) store.Stats {
	t.Helper()
	var st store.Stats
	status, body := do(t, "GET", url+"/v1/stats", "")
	if status != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("stats: %d %s", status, body)
	}
	return st
}

// stitchedWithin reports whether the server stitched anything within d.
func stitchedWithin(t *testing.T, url string, d time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if stats(t, url).StitchedSeq > 0 {
			return true
		}
	}
	return false
}

// TestStitchingGivesWayToABulkLoad: while clients keep ingestion busy,
// background stitching waits (up to --stitch-max-delay) instead of taking
// passes from under them, and stitches everything once the load ends; a
// trickle of events is stitched at once.
func TestStitchingGivesWayToABulkLoad(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Run("saturated", func(t *testing.T) {
				s := startPaced(t, backend, time.Minute)
				url := s.URL()
				time.Sleep(500 * time.Millisecond) // the loop's catch-up at start, on an empty log
				stop := make(chan struct{})
				begin := time.Now()
				done := sendLoad(t, url, 4, 500, 0, stop)
				time.Sleep(3 * time.Second)
				close(stop)
				accepted := done()
				end := time.Now()
				// A run may start in the load's first tick, before the load
				// is measured; none after that.
				for _, at := range stitchRunsCreated(t, url) {
					if at.After(begin.Add(700*time.Millisecond)) && at.Before(end) {
						t.Fatalf("a stitching run was asked for %s into a saturating load (accepted %d)", at.Sub(begin), accepted)
					}
				}
				waitFor(t, "the load stitched after it ended", func() bool {
					st := stats(t, url)
					return st.Events == accepted && st.StitchedSeq == st.MaxSeq
				})
			})
			t.Run("bounded", func(t *testing.T) {
				s := startPaced(t, backend, time.Second)
				url := s.URL()
				time.Sleep(500 * time.Millisecond)
				stop := make(chan struct{})
				done := sendLoad(t, url, 4, 500, 0, stop)
				stitched := stitchedWithin(t, url, 6*time.Second)
				close(stop)
				done()
				if !stitched {
					t.Fatal("nothing stitched within 6 s of a saturating load with --stitch-max-delay 1s")
				}
			})
			t.Run("trickle", func(t *testing.T) {
				s := startPaced(t, backend, time.Hour)
				url := s.URL()
				stop := make(chan struct{})
				done := sendLoad(t, url, 1, 2, 200*time.Millisecond, stop)
				stitched := stitchedWithin(t, url, 10*time.Second)
				close(stop)
				done()
				if !stitched {
					t.Fatal("a trickle of events was not stitched while it went on")
				}
			})
		})
	}
}
