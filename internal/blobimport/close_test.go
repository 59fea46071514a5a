package blobimport

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/job"
)

// closeProbe is the blob import job, reporting the bucket it held when the
// runtime closed it.
type closeProbe struct {
	*Job
	closed chan *blob.Bucket
}

func (p *closeProbe) Close() error {
	b := p.bucket
	err := p.Job.Close()
	p.closed <- b
	return err
}

// heldEvents is the real event writer behind a gate: the first append
// says so and waits for the run's context to end, so that the run is
// terminated in the middle of a file.
type heldEvents struct {
	job.Events
	appending chan struct{}
}

func (h *heldEvents) Append(ctx context.Context, records []json.RawMessage) ([]job.Rejection, error) {
	select {
	case h.appending <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestTerminatedImportClosesBucket runs blob_import through the job
// runtime on a real store and a real (file) bucket, terminates it while it
// imports, and checks that the runtime closed the job's bucket.
func TestTerminatedImportClosesBucket(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, backend)
			dir := t.TempDir()
			for i := range 3 {
				ev := fmt.Sprintf(`{"id":"e%d","source_id":"web","type":"visit","version":"1","event_time":"2026-01-01T00:00:00Z","payload":{}}`, i)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.ndjson", i)), []byte(ev+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			closed := make(chan *blob.Bucket, 1)
			events := &heldEvents{Events: &event.Writer{In: event.NewIngester(db, nil)}, appending: make(chan struct{}, 1)}
			r := jobrunner.New(db, jobrunner.Options{Worker: "test", Poll: 10 * time.Millisecond,
				Env: job.Env{SharedKV: kv.New(db, nil), Events: events},
				Builtin: []job.Info{job.Typed[Args, State]("import_probe", "", func() *closeProbe {
					return &closeProbe{Job: new(Job), closed: closed}
				})}})
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); r.Run(runCtx) }()
			t.Cleanup(func() { stop(); <-done })

			run, err := r.Trigger(ctx, "import_probe", map[string]any{"source": "file://" + dir, "format": "ndjson", "target": "events"}, "manual")
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-events.appending:
			case <-time.After(20 * time.Second):
				t.Fatal("the import did not start")
			}
			if _, err := r.Terminate(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if run, err = r.Wait(waitCtx, run.ID); err != nil || run.Status != store.RunTerminated {
				t.Fatalf("run %+v, %v", run, err)
			}
			var b *blob.Bucket
			select {
			case b = <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the runtime did not close the job")
			}
			if b == nil {
				t.Fatal("the job held no bucket when closed")
			}
			if _, err := b.Exists(ctx, "f0.ndjson"); err == nil || !strings.Contains(err.Error(), "closed") {
				t.Fatalf("the bucket answers after the run ended: %v", err)
			}
		})
	}
}
