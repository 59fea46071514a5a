package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/storetest"
)

// stagedOnly is a backend whose bulk transactions cannot append without
// staging (they hide AppendEvents), so a store over it takes the plain
// path for every batch.
type stagedOnly struct{ *backend }

func (b stagedOnly) Bulk(ctx context.Context, fn func(store.BulkTx) error) error {
	return b.backend.Bulk(ctx, func(tx store.BulkTx) error {
		return fn(struct{ store.BulkTx }{tx})
	})
}

// counted is a backend that counts the batches appended directly.
type counted struct {
	*backend
	direct *int
}

func (b counted) Bulk(ctx context.Context, fn func(store.BulkTx) error) error {
	return b.backend.Bulk(ctx, func(tx store.BulkTx) error {
		return fn(countedTx{tx, b.direct})
	})
}

type countedTx struct {
	store.BulkTx
	direct *int
}

func (tx countedTx) AppendEvents(ctx context.Context, events []store.EventInsert, createdAt time.Time) (int, error) {
	*tx.direct++
	return tx.BulkTx.(store.EventAppender).AppendEvents(ctx, events, createdAt)
}

// TestAppendEventsEqualsStaging: the direct append (AppendEvents) leaves
// event_log exactly as staging every batch does: same rows, same seq
// order, payload text byte for byte, duplicates within and across
// batches left out, hash collisions kept.
func TestAppendEventsEqualsStaging(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 6, 23, 0, 0, 123456000, time.UTC)
	now := func() time.Time { return clock }
	direct := 0
	open := func(staged bool) (*backend, *store.DB) {
		dir := t.TempDir()
		b, err := newBackend(filepath.Join(dir, FileName), (*Settings)(nil).WithDefaults(dir))
		if err != nil {
			t.Fatal(err)
		}
		var be store.Backend = counted{b, &direct}
		if staged {
			be = stagedOnly{b}
		}
		s, err := store.Open(ctx, be, &store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return b, s
	}
	fastB, fast := open(false)
	plainB, plain := open(true)

	at := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	payloads := []string{
		`{}`,
		`{"a": 1,  "b" : [1, 2.50, -3e2], "c": null}`,
		`{"html": "<b>&amp;</b>", "u": "\u00e9\u2028", "raw": "été 😀"}`,
		`{"nested": {"x": [{"y": true}, false]}, "big": 123456789012345678901234567890}`,
		"{\n\t\"spaced\" :\t\"yes\"\n}",
	}
	var batches [][]store.EventInsert
	for b := range 6 {
		var batch []store.EventInsert
		for i := range 700 {
			id := fmt.Sprintf("ev-%d", (b*500+i)%2900) // repeats across batches
			if i%97 == 0 {
				id = fmt.Sprintf("it's-%d", i)
			}
			typ := []string{"page_view", "purchase"}[i%2]
			if b == 4 && i == 3 {
				typ = "late_type" // a new type: this batch is staged on both
			}
			batch = append(batch, storetest.Ev(id, []string{"web", "shop"}[i%2], typ, at.Add(time.Duration(i)*time.Second), payloads[i%len(payloads)]))
		}
		batches = append(batches, dedupeIDs(batch))
	}
	for i, batch := range batches {
		if i == 3 { // a collision: the hash is known, the id is not
			fastB.ids.add(fastB.ids.hash("ev-2000"))
		}
		a, err := fast.EventAppendMany(ctx, &store.EventAppendManyParams{Events: batch})
		if err != nil {
			t.Fatalf("batch %d, direct: %v", i, err)
		}
		p, err := plain.EventAppendMany(ctx, &store.EventAppendManyParams{Events: batch})
		if err != nil {
			t.Fatalf("batch %d, staged: %v", i, err)
		}
		if *a != *p {
			t.Fatalf("batch %d: direct %+v, staged %+v", i, *a, *p)
		}
	}
	got, want := dumpLog(t, fastB.db), dumpLog(t, plainB.db)
	if len(want) < 2800 || direct != 4 {
		t.Fatalf("staged log holds %d events, want 2800 or more; %d batches of 6 appended directly, want 4", len(want), direct)
	}
	sent := map[string]string{} // the payload of each id's first event
	for _, batch := range batches {
		for _, e := range batch {
			if _, ok := sent[e.ID]; !ok {
				sent[e.ID] = string(e.Payload)
			}
		}
	}
	for _, r := range want {
		if r.Payload != sent[r.ID] {
			t.Fatalf("event %s: payload stored as %q, sent %q", r.ID, r.Payload, sent[r.ID])
		}
	}
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("row %d: direct %v, staged %v", i, got[i], want[i])
			}
		}
		t.Fatalf("direct holds %d rows, staged %d", len(got), len(want))
	}
}

// dedupeIDs keeps the first event of each id, as package event does
// before it appends.
func dedupeIDs(events []store.EventInsert) []store.EventInsert {
	seen := map[string]bool{}
	var out []store.EventInsert
	for _, e := range events {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

type logRow struct {
	Seq                                      int64
	ID, Source, Type, Version, Time, Payload string
	CreatedAt                                string
}

func dumpLog(t *testing.T, db *sql.DB) []logRow {
	t.Helper()
	rows, err := db.Query(`SELECT seq, id, source_id, type, version, CAST(event_time AS TEXT), CAST(payload AS TEXT), CAST(created_at AS TEXT) FROM event_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []logRow
	for rows.Next() {
		var r logRow
		if err := rows.Scan(&r.Seq, &r.ID, &r.Source, &r.Type, &r.Version, &r.Time, &r.Payload, &r.CreatedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
