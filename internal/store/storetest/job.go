package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
)

var jobTests = []test{
	{"RunRoundTrip", testJobRunRoundTrip},
	{"Notifications", testNotifications},
}

// testJobRunRoundTrip: a stored run reads back as written; an unknown
// one is ErrNotFound.
func testJobRunRoundTrip(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	r := &store.JobRun{ID: "run-1", Job: "nightly", Kind: "blob_import", Params: json.RawMessage(`{"n":1}`),
		Status: "waiting", Trigger: "manual", ScheduledAt: t0, RunAfter: t0, CreatedAt: t0}
	if err := s.JobRunInsert(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.JobRunGet(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Job != "nightly" || got.Kind != "blob_import" || got.Status != "waiting" || !got.ScheduledAt.Equal(t0) {
		t.Errorf("run %+v", got)
	}
	sameJSON(t, got.Params, r.Params)
	if _, err := s.JobRunGet(ctx, "run-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown run: %v, want ErrNotFound", err)
	}
	runs, err := s.JobRunList(ctx, &store.JobRunListParams{Job: "nightly", Limit: 10})
	if err != nil || len(runs) != 1 {
		t.Errorf("JobRunList: %d runs, %v", len(runs), err)
	}
}

// testNotifications: the activity log lists what was written, newest
// first.
func testNotifications(t *testing.T, b Backend) {
	ctx := context.Background()
	s := openDB(t, b)
	job := "nightly"
	for i, title := range []string{"first", "second"} {
		n := &store.Notification{At: t0.Add(time.Duration(i) * time.Minute), Level: "info", Activity: "job", Title: title, Summary: "s", Job: &job}
		if err := s.NotificationInsert(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := s.NotificationList(ctx, "", "nightly", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Title != "second" {
		t.Errorf("notifications %+v", ns)
	}
}
