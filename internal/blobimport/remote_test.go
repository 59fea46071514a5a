package blobimport_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/blobimport/blobtest"
	"github.com/weftdata/weft/job"
)

// nextSecond sleeps into the next wall-clock second: the servers keep
// modification times to the second.
func nextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second + 20*time.Millisecond).Sub(now))
}

// TestRemoteSources imports from real servers: Azure Blob Storage through
// Azurite and S3 through s3rver, each started for the test.
func TestRemoteSources(t *testing.T) {
	servers := []struct {
		name  string
		start func(testing.TB) *blobtest.Server
	}{{"azurite", blobtest.Azurite}, {"s3", blobtest.S3}}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := srv.start(t)
			b := s.Bucket(t, "imports")
			put := func(key, content string) {
				t.Helper()
				if err := b.WriteAll(ctx, key, []byte(content), nil); err != nil {
					t.Fatal(err)
				}
			}
			h := newHarness(t, "duckdb")
			params := map[string]any{"source": s.SourceURL("imports", "exports"), "format": "ndjson", "target": "events"}

			// z is older than a: the order is by time, not name; the
			// file outside the prefix is not imported.
			put("exports/z.ndjson", lines(0, 3))
			put("other/x.ndjson", lines(100, 101))
			nextSecond()
			put("exports/a.ndjson", lines(3, 5)+"{bad\n"+ev(5)+"\n")

			st, steps, err := h.run(params)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := names(steps[0]), []string{"exports/z.ndjson", "exports/a.ndjson"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("files %v, want %v", got, want)
			}
			if st.FilesDone != 2 || st.Records != 6 || st.Rejected != 1 || h.events() != 6 {
				t.Fatalf("state %+v, %d events", st, h.events())
			}
			if r := st.Rejections[0]; r.File != "exports/a.ndjson" || r.Line != 3 {
				t.Fatalf("rejection %+v", r)
			}
			if c := h.cursor(params); c.Name != "exports/a.ndjson" {
				t.Fatalf("cursor %+v", c)
			}

			// Nothing new: nothing imported.
			if st = h.mustRun(params); st.FilesDone != 0 || h.events() != 6 {
				t.Fatalf("second run: %+v", st)
			}

			// A file written later is imported by the next run.
			nextSecond()
			put("exports/b.ndjson", lines(6, 8))
			if st = h.mustRun(params); st.FilesDone != 1 || st.Records != 2 || h.events() != 8 {
				t.Fatalf("third run: %+v, %d events", st, h.events())
			}
			if n := h.lastNote(); n.Level != job.LevelInfo || !strings.Contains(n.Summary, "Imported 2 records from 1 file ") {
				t.Fatalf("notification %+v", n)
			}

			// A bucket that does not exist fails the run at listing, with
			// an error notification.
			missing := map[string]any{"source": s.SourceURL("nosuchbucket", ""), "format": "ndjson", "target": "events"}
			if _, _, err := h.run(missing); err == nil {
				t.Fatal("listing a missing bucket succeeded")
			}
			if n := h.lastNote(); n.Level != job.LevelError || n.Activity != "Blob import" || n.Title != "Cannot list the source" {
				t.Fatalf("notification %+v", n)
			}
		})
	}
}
