package destination_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/destination/webhooktest"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixtureYAML reads an email from signups and purchases, the spend of
// purchases and the marketing consent of signups.
const fixtureYAML = `stitching:
  rules:
    - {identifier: email, event: shop/signup, value_expression: "payload->>'email'"}
    - {identifier: email, event: shop/purchase, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, types: [purchase], value: "(payload->>'total')::numeric"}
  - {id: marketing_ok, type: last, types: [signup], data_type: bool, value: "payload->>'marketing'"}
segments:
  - {id: vip, condition: {attribute: spend, op: ">=", value: 100}}
  - {id: lapsed, condition: {attribute: spend, op: "=", value: 0}}
  - {id: other, condition: {attribute: spend, op: "=", value: 1}}
`

// customers is how many customers the fixture holds: u0..u59; the even
// ones agreed to marketing.
const customers = 60

var hmacKey = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	t       *testing.T
	db      *store.DB
	cfg     *config.Config
	attrs   *attr.Engine
	deps    *destination.Deps
	secrets *kv.Store
	defs    []destination.Definition
	// email and consent of each entity id.
	email   map[string]string
	consent map[string]bool
}

func newFixture(t *testing.T, backend string) *fixture {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Open(t, backend)
	cfg, err := config.Parse([]byte(fixtureYAML))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range customers {
		lines = append(lines,
			fmt.Sprintf(`{"id":"s%d","source_id":"shop","type":"signup","version":"1","event_time":"2026-01-02T10:00:00Z","payload":{"email":"u%d@x","marketing":%v}}`, i, i, i%2 == 0),
			fmt.Sprintf(`{"id":"p%d","source_id":"shop","type":"purchase","version":"1","event_time":"2026-01-03T10:00:00Z","payload":{"email":"u%d@x","total":%d}}`, i, i, 10*i))
	}
	dbtest.Ingest(t, db, lines...)
	se, err := stitch.New(db, cfg.EffectiveStitching(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := se.Run(ctx, 0); err != nil {
		t.Fatal(err)
	}
	ae, err := attr.New(db, cfg.Attributes, cfg.Context, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ae.Run(ctx, attr.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	secrets, err := kv.NewSecrets(db, hmacKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Put(ctx, "hook_key", job.Record{"key": string(hmacKey)}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, cfg: cfg, attrs: ae, secrets: secrets, email: map[string]string{}, consent: map[string]bool{}}
	f.deps = &destination.Deps{DB: db, Config: func(context.Context) (*destination.InForce, error) {
		return &destination.InForce{Destinations: f.defs, Attributes: cfg.Attributes}, nil
	}}
	rows, err := db.QueryContext(ctx, "SELECT entity_id, value FROM identifiers WHERE category = 'email'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, email string
		var i int
		if err := rows.Scan(&id, &email); err != nil {
			t.Fatal(err)
		}
		fmt.Sscanf(email, "u%d@x", &i) //nolint:errcheck // written above
		f.email[id], f.consent[id] = email, i%2 == 0
	}
	if len(f.email) != customers {
		t.Fatalf("%d entities, want %d", len(f.email), customers)
	}
	return f
}

// addChanges records rounds of changes of every entity in a segment, as
// the segments job would: entered, exited, entered, ...
func (f *fixture) addChanges(segment string, rounds int) {
	f.t.Helper()
	for r := range rounds {
		change := []string{"entered", "exited"}[r%2]
		_, err := f.db.ExecContext(context.Background(), `INSERT INTO segment_changes (segment_id, entity_id, change, changed_at, run_id)
			SELECT $1, id, $2, CAST($3 AS TIMESTAMPTZ), $4 FROM entities WHERE merged_into IS NULL ORDER BY id`,
			segment, change, time.Date(2026, 2, 1, 0, r, 0, 0, time.UTC), fmt.Sprintf("run-%d", r))
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

// changes are the segment changes recorded, by seq.
func (f *fixture) changes(segments ...string) map[int64]destination.Change {
	f.t.Helper()
	rows, err := f.db.QueryContext(context.Background(), "SELECT seq, segment_id, entity_id, change, changed_at FROM segment_changes")
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]destination.Change{}
	for rows.Next() {
		var c destination.Change
		if err := rows.Scan(&c.Seq, &c.Segment, &c.EntityID, &c.Change, &c.Time); err != nil {
			f.t.Fatal(err)
		}
		if slices.Contains(segments, c.Segment) {
			out[c.Seq] = c
		}
	}
	return out
}

// run drives a run of the destination's job with a fresh instance.
func (f *fixture) run(id string) (destination.WebhookState, error) {
	return webhooktest.Run(context.Background(), f.deps, f.secrets, id)
}

func (f *fixture) cursor(id string) (cursor int64, pending *int64) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.db.QueryRowContext(ctx, "SELECT coalesce(max(segment_seq), 0) FROM destination_cursors WHERE destination_id = $1", id).Scan(&cursor); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.QueryRowContext(ctx, "SELECT max(pending_to) FROM destination_state WHERE destination_id = $1", id).Scan(&pending); err != nil {
		f.t.Fatal(err)
	}
	return cursor, pending
}

func webhook(id, url string, segments ...string) destination.Definition {
	return destination.Definition{ID: id, Type: destination.TypeWebhook, URL: url, Segments: segments,
		Attributes: []string{"spend"}, Identifiers: []string{"email"}, Secret: "hook_key", BatchSize: 50}
}

// TestWebhookDeliversThroughFailures sends the changes of two segments
// (not those of a third) to a receiver that fails at random (500, 429 with
// Retry-After, answers slower than the timeout, reset connections):
// every change of a consenting profile arrives, with its identifiers and
// typed attributes, signed; every resend of a key carries the same
// changes; the others are skipped, and the cursor ends at the last change.
func TestWebhookDeliversThroughFailures(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			f.addChanges("vip", 9)
			f.addChanges("other", 2)
			f.addChanges("lapsed", 3)
			recv := webhooktest.Start(webhooktest.Options{Key: hmacKey, Seed: 7, Fail500: 0.12, Fail429: 0.05, RetryAfter: "1",
				Slow: 0.1, SlowFor: 400 * time.Millisecond, Reset: 0.1})
			t.Cleanup(recv.Close)
			d := webhook("crm", recv.URL, "vip", "lapsed")
			d.Consent, d.Timeout, d.MaxAttempts, d.RateLimit, d.BatchSize = "marketing_ok", "200ms", 30, 200, 15
			f.defs = []destination.Definition{d}

			st, err := f.run("crm")
			if err != nil {
				t.Fatal(err)
			}
			all := f.changes("vip", "lapsed")
			want := map[int64]bool{}
			var last int64
			for seq, c := range all {
				last = max(last, seq)
				if f.consent[c.EntityID] {
					want[seq] = true
				}
			}
			got := recv.Changes()
			if len(got) != len(want) {
				t.Errorf("%d changes arrived, want %d", len(got), len(want))
			}
			for seq := range want {
				c, ok := got[seq]
				rec := all[seq]
				switch {
				case !ok:
					t.Errorf("change %d never arrived", seq)
				case c.Segment != rec.Segment || c.EntityID != rec.EntityID || c.Change != rec.Change || !c.Time.Equal(rec.Time):
					t.Errorf("change %d arrived as %+v, recorded as %+v", seq, c, rec)
				case !slices.Equal(c.Identifiers["email"], []string{f.email[c.EntityID]}) || len(c.Identifiers) != 1:
					t.Errorf("change %d: identifiers %v, want email %s", seq, c.Identifiers, f.email[c.EntityID])
				}
				if _, isFloat := c.Attributes["spend"].(float64); ok && (!isFloat || len(c.Attributes) != 1) {
					t.Errorf("change %d: attributes %v, want spend as a number", seq, c.Attributes)
				}
			}
			s := recv.Stats()
			if s.BadSignatures != 0 {
				t.Errorf("%d requests with a bad signature", s.BadSignatures)
			}
			// A reset connection may be retried by the HTTP client itself
			// (the request carries an Idempotency-Key), unseen by the job.
			failed := s.Failed500 + s.Failed429 + s.Slow
			if s.Failed500 == 0 || s.Failed429 == 0 || s.Slow == 0 || s.Reset == 0 || st.Retries < int64(failed) || st.Retries > int64(failed+s.Reset) {
				t.Errorf("every kind of failure must happen, and each be tried again: %+v, %+v", s, st)
			}
			if st.Skipped != int64(len(all)-len(want)) || st.Sent != int64(len(want)) || st.DeadLetters != 0 || st.Cursor != last {
				t.Errorf("state %+v: want %d sent, %d skipped, cursor %d", st, len(want), len(all)-len(want), last)
			}
			if cursor, pending := f.cursor("crm"); cursor != last || pending != nil {
				t.Errorf("cursor %d, in flight %v; want %d and none", cursor, pending, last)
			}
			t.Logf("%d changes, %d requests: %+v", len(want), s.Requests, s)

			// Nothing new: the next run sends nothing.
			before := recv.Stats().Requests
			if st, err := f.run("crm"); err != nil || st.Requests != 0 || recv.Stats().Requests != before {
				t.Fatalf("a run with nothing new: %+v %v", st, err)
			}
		})
	}
}

// TestWebhookResendCarriesSameKey: a batch whose attempts all failed is
// sent again by the next run under the same key, covering the same
// changes, though more changes arrived since: a partial batch (its end
// recorded before it was sent) and a full one (found again as it was).
func TestWebhookResendCarriesSameKey(t *testing.T) {
	for _, backend := range dbtest.Backends {
		for _, c := range []struct {
			name        string
			batch, keys int
			recorded    bool
		}{{"partial", 100, 2, true}, {"full", 40, 3, false}} {
			t.Run(backend+"/"+c.name, func(t *testing.T) {
				f := newFixture(t, backend)
				f.addChanges("vip", 1)
				first := f.changes("vip")
				recv := webhooktest.Start(webhooktest.Options{Key: hmacKey, Fail500: 1})
				t.Cleanup(recv.Close)
				d := webhook("crm", recv.URL, "vip")
				d.BatchSize, d.MaxAttempts = c.batch, 2
				f.defs = []destination.Definition{d}
				if _, err := f.run("crm"); err == nil || !strings.Contains(err.Error(), "2 attempts failed, the last: 500") {
					t.Fatalf("run against a failing receiver: %v", err)
				}
				if cursor, pending := f.cursor("crm"); cursor != 0 || (pending != nil) != c.recorded {
					t.Fatalf("cursor %d, in flight %v: want 0, recorded %v", cursor, pending, c.recorded)
				}
				seqs := slices.Sorted(maps.Keys(first))
				key := destination.ChangesKey("crm", 0, seqs[min(c.batch, len(seqs))-1])
				f.addChanges("vip", 1) // 60 more, which would make the batch longer
				recv.SetOptions(webhooktest.Options{})
				if _, err := f.run("crm"); err != nil {
					t.Fatal(err)
				}
				keys := recv.Keys()
				if keys[key] != 1 {
					t.Fatalf("key %s taken %d times; keys %v", key, keys[key], keys)
				}
				if len(recv.Changes()) != 2*customers || len(keys) != c.keys {
					t.Fatalf("%d changes in %d batches, want %d in %d", len(recv.Changes()), len(keys), 2*customers, c.keys)
				}
			})
		}
	}
}

// TestWebhookDeadLettersAndReplay: a batch the receiver refuses (422) is a
// dead letter with the request and the answer, and the cursor moves on;
// a replay sends it again under its key, and the dead letter is marked
// replayed.
func TestWebhookDeadLettersAndReplay(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend)
			f.addChanges("vip", 2)
			poison := ""
			for id := range f.email {
				poison = max(poison, id)
			}
			refuse := func(body []byte) bool { return strings.Contains(string(body), poison) }
			recv := webhooktest.Start(webhooktest.Options{Key: hmacKey, Refuse: refuse})
			t.Cleanup(recv.Close)
			f.defs = []destination.Definition{webhook("crm", recv.URL, "vip")}
			st, err := f.run("crm")
			if err != nil {
				t.Fatal(err)
			}
			all := f.changes("vip")
			if st.DeadLetters != 2 {
				t.Fatalf("state %+v, want 2 dead letters", st)
			}
			var triggered []string
			svc := destination.NewService(f.deps, func(_ context.Context, name string) (*store.JobRun, error) {
				triggered = append(triggered, name)
				return &store.JobRun{ID: "replay-run", Job: name}, nil
			})
			dls, err := svc.DeadLetters(ctx, "crm", 0, 10)
			if err != nil || len(dls) != 2 {
				t.Fatalf("dead letters %+v %v", dls, err)
			}
			if n := st.Sent + int64(dls[0].Items+dls[1].Items); n != int64(len(all)) {
				t.Fatalf("%d sent and %d+%d dead, want %d in all", st.Sent, dls[0].Items, dls[1].Items, len(all))
			}
			for _, dl := range dls {
				var body destination.ChangesBody
				if err := json.Unmarshal(dl.Request, &body); err != nil || len(body.Changes) != dl.Items || dl.Status != 422 ||
					!strings.Contains(dl.Answer, "refused") || dl.ReplayedAt != nil || !strings.HasPrefix(dl.IdempotencyKey, "crm:") {
					t.Fatalf("dead letter %+v (%v)", dl, err)
				}
			}
			var last int64
			for seq := range all {
				last = max(last, seq)
			}
			list, err := svc.List(ctx)
			if err != nil || len(list) != 1 || list[0].DeadLetters != 2 || list[0].Cursor != last || list[0].Pending != 0 || list[0].Job != "destination:crm" {
				t.Fatalf("list %+v %v", list, err)
			}
			// Replay the first only: refused again, it stays dead with
			// the new answer.
			res, err := svc.Replay(ctx, "crm", []int64{dls[0].ID})
			if err != nil || res.Replaying != 1 || res.Run == nil || !slices.Equal(triggered, []string{"destination:crm"}) {
				t.Fatalf("replay: %+v %v (triggered %v)", res, err, triggered)
			}
			if st, err := f.run("crm"); err != nil || st.Replayed != 0 {
				t.Fatalf("replay refused again: %+v %v", st, err)
			}
			if dls, _ = svc.DeadLetters(ctx, "crm", 0, 10); dls[0].ReplayedAt != nil || dls[0].ReplayRequestedAt != nil {
				t.Fatalf("after a refused replay: %+v", dls[0])
			}
			// Now the receiver takes them: replay all.
			recv.SetOptions(webhooktest.Options{})
			if res, err = svc.Replay(ctx, "crm", nil); err != nil || res.Replaying != 2 {
				t.Fatalf("replay all: %+v %v", res, err)
			}
			if st, err := f.run("crm"); err != nil || st.Replayed != 2 {
				t.Fatalf("replay: %+v %v", st, err)
			}
			keys := recv.Keys()
			for _, dl := range dls {
				if keys[dl.IdempotencyKey] != 1 {
					t.Errorf("key %s taken %d times", dl.IdempotencyKey, keys[dl.IdempotencyKey])
				}
			}
			if got := recv.Changes(); len(got) != len(all) {
				t.Errorf("%d changes arrived in all, want %d", len(got), len(all))
			}
			if dls, _ = svc.DeadLetters(ctx, "crm", 0, 10); dls[0].ReplayedAt == nil || dls[1].ReplayedAt == nil {
				t.Fatalf("after the replay: %+v", dls)
			}
			if res, err = svc.Replay(ctx, "crm", nil); err != nil || res.Replaying != 0 || res.Run != nil {
				t.Fatalf("nothing left to replay: %+v %v", res, err)
			}
			if _, err := svc.Replay(ctx, "nope", nil); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("replay of an unknown destination: %v", err)
			}
			if _, err := svc.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("get of an unknown destination: %v", err)
			}
		})
	}
}

// TestWebhookChangedProfiles: a webhook without segments sends every
// consenting profile with values once, then only those whose chosen
// values changed.
func TestWebhookChangedProfiles(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend)
			recv := webhooktest.Start(webhooktest.Options{Key: hmacKey, Seed: 3, Fail500: 0.2, Reset: 0.1})
			t.Cleanup(recv.Close)
			d := webhook("profiles", recv.URL)
			d.Consent, d.BatchSize, d.MaxAttempts = "marketing_ok", 7, 30
			f.defs = []destination.Definition{d}
			st, err := f.run("profiles")
			if err != nil {
				t.Fatal(err)
			}
			got := recv.Profiles()
			if len(got) != customers/2 || st.Sent != customers/2 {
				t.Fatalf("%d profiles arrived (state %+v), want the %d consenting", len(got), st, customers/2)
			}
			for id, p := range got {
				if !f.consent[id] || !slices.Equal(p.Identifiers["email"], []string{f.email[id]}) || p.Attributes["spend"] == nil {
					t.Fatalf("profile %s: %+v", id, p)
				}
			}
			// Unchanged: nothing is sent.
			if st, err = f.run("profiles"); err != nil || st.Sent != 0 {
				t.Fatalf("second run: %+v %v", st, err)
			}
			// One consenting customer buys: only they are sent, with the
			// new spend.
			var changed string
			for id, email := range f.email {
				if email == "u4@x" {
					changed = id
				}
			}
			dbtest.Ingest(t, f.db, `{"id":"p-more","source_id":"shop","type":"purchase","version":"1","event_time":"2026-01-05T10:00:00Z","payload":{"email":"u4@x","total":1000}}`)
			se, _ := stitch.New(f.db, f.cfg.EffectiveStitching(), nil)
			if _, err := se.Run(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.attrs.Run(ctx, attr.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			recv.Reset()
			if st, err = f.run("profiles"); err != nil || st.Sent != 1 {
				t.Fatalf("after a purchase: %+v %v", st, err)
			}
			if p, ok := recv.Profiles()[changed]; !ok || p.Attributes["spend"] != float64(1040) {
				t.Fatalf("profiles after a purchase: %+v", recv.Profiles())
			}
		})
	}
}

// TestWebhookOrderAcrossWindows: changes read ahead in windows much
// smaller than the run (and not a multiple of the batch) arrive in seq
// order, each exactly once, none lost, through 500s and 429s, with a
// partial last batch; a change of a profile without consent is skipped
// wherever it falls. A second run, a fresh instance, finds the position
// again and sends the changes recorded since.
func TestWebhookOrderAcrossWindows(t *testing.T) {
	defer destination.SetWindowRows(70)()
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			f.addChanges("vip", 7)
			f.addChanges("other", 1)
			f.addChanges("lapsed", 4)
			recv := webhooktest.Start(webhooktest.Options{Key: hmacKey, Seed: 11, Fail500: 0.15, Fail429: 0.05, RetryAfter: "0"})
			t.Cleanup(recv.Close)
			d := webhook("crm", recv.URL, "vip", "lapsed")
			d.Consent, d.BatchSize, d.MaxAttempts = "marketing_ok", 15, 30
			f.defs = []destination.Definition{d}
			if _, err := f.run("crm"); err != nil {
				t.Fatal(err)
			}
			f.addChanges("vip", 2) // more after the first run, read by a fresh one
			f.addChanges("lapsed", 1)
			if _, err := f.run("crm"); err != nil {
				t.Fatal(err)
			}
			var want []int64
			for seq, c := range f.changes("vip", "lapsed") {
				if f.consent[c.EntityID] {
					want = append(want, seq)
				}
			}
			slices.Sort(want)
			got := recv.Order()
			if !slices.Equal(got, want) {
				t.Fatalf("%d changes arrived, want %d in seq order; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			if s := recv.Stats(); s.Failed500 == 0 || s.Failed429 == 0 || s.Conflicts != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
