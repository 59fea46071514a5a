package audit_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestLog(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
			l := audit.New(dbtest.Open(t, backend), &audit.Options{Now: func() time.Time { return now }})
			if got, err := l.List(ctx, audit.ListParams{}); err != nil || len(got) != 0 {
				t.Fatalf("empty trail: %+v, %v", got, err)
			}
			long := strings.Repeat("é", audit.MaxSummaryLen) // 2 bytes each
			entries := []*audit.Entry{
				{KeyID: "k1", KeyName: "ops", RequestID: "r1", Action: "config.apply", Method: "PUT", Route: "/v1/config", Path: "/v1/config", Status: 200, Summary: "applied config version 1"},
				{KeyName: "bootstrap", RequestID: "r2", Action: "keys.create", Method: "POST", Route: "/v1/keys", Path: "/v1/keys", Status: 201, Summary: long},
				{RequestID: "r3", Action: "config.apply", Method: "PUT", Route: "/v1/config", Path: "/v1/config", Status: 401, Summary: "missing x-api-key header"},
			}
			for _, e := range entries {
				if err := l.Record(ctx, e); err != nil {
					t.Fatal(err)
				}
				now = now.Add(time.Minute)
			}
			all, err := l.List(ctx, audit.ListParams{})
			if err != nil || len(all) != 3 {
				t.Fatalf("list: %+v, %v", all, err)
			}
			if all[0].RequestID != "r3" || all[2].RequestID != "r1" || all[2].KeyName != "ops" || all[2].KeyID != "k1" || all[2].Status != 200 ||
				all[2].Summary != "applied config version 1" || !all[2].At.Equal(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)) || all[0].ID <= all[2].ID {
				t.Errorf("entries %+v: want newest first with every field", all)
			}
			if s := all[1].Summary; len(s) > audit.MaxSummaryLen+3 || !strings.HasSuffix(s, "...") || !strings.HasPrefix(long, strings.TrimSuffix(s, "...")) {
				t.Errorf("long summary kept as %d bytes %q...: want it cut at %d bytes on a character boundary", len(s), s[:10], audit.MaxSummaryLen)
			}
			byAction, err := l.List(ctx, audit.ListParams{Action: "config.apply"})
			if err != nil || len(byAction) != 2 || byAction[0].RequestID != "r3" || byAction[1].RequestID != "r1" {
				t.Errorf("action filter: %+v, %v", byAction, err)
			}
			since, err := l.List(ctx, audit.ListParams{Since: time.Date(2026, 5, 1, 8, 1, 0, 0, time.UTC)})
			if err != nil || len(since) != 2 || since[1].RequestID != "r2" {
				t.Errorf("since filter (inclusive): %+v, %v", since, err)
			}
			limited, err := l.List(ctx, audit.ListParams{Limit: 1})
			if err != nil || len(limited) != 1 || limited[0].RequestID != "r3" {
				t.Errorf("limit: %+v, %v", limited, err)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	// Outside an audited request it does nothing (and does not panic).
	audit.Summarize(context.Background(), "ignored %d", 1)
	ctx, summary := audit.WithSummary(context.Background())
	if summary() != "" {
		t.Error("summary before Summarize is not empty")
	}
	audit.Summarize(ctx, "job %s: run %s", "import", "r-1")
	if got := summary(); got != "job import: run r-1" {
		t.Errorf("summary %q", got)
	}
}
