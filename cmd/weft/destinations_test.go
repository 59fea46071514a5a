package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/destination/webhooktest"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/store/postgres"
)

// webhookYAML declares a webhook of two segments, run every second, with
// a short timeout so that slow answers count as failures.
const webhookYAML = `stitching:
  rules:
    - {identifier: email, event: shop/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
segments:
  - {id: vip, condition: {attribute: spend, op: ">=", value: 100}}
  - {id: lapsed, condition: {attribute: spend, op: "=", value: 0}}
destinations:
  - id: crm
    type: webhook
    url: %s
    segments: [vip, lapsed]
    identifiers: [email]
    secret: crm_key
    batch_size: 25
    cron: "* * * * * ?"
    timeout: 300ms
    max_attempts: 3
    rate_limit: 100
`

// TestWebhookSurvivesKill sends segment changes from a real weft serve to
// a receiver that fails at random (500, 429 with Retry-After, answers
// beyond the timeout, reset connections) and refuses one entity's
// changes, kills the server with SIGKILL four times mid-delivery while
// more changes are recorded, and checks that every change arrived, every
// resend of a key carried the same changes, every request was signed, and
// that the refused ones are dead letters that a replay (weft destinations
// replay) delivers.
func TestWebhookSurvivesKill(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			data := t.TempDir()
			addr := freeAddr(t)
			base := "http://" + addr
			args := []string{"serve", "--addr", addr, "--log-level", "warn", "--data", data, "--job-lease", "2s", "--stitch-interval", "-1s"}
			var dbURL string
			if backend == "postgres" {
				dbURL = pgtest.URL(t)
				args = append(args, "--db", dbURL, "--plugin-storage", "file://"+filepath.ToSlash(t.TempDir()))
			}
			keyFile := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(keyFile, []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="), 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, "--secret-key-file", keyFile)
			open := func() *store.DB {
				var db *store.DB
				var err error
				if backend == "postgres" {
					db, err = postgres.Open(ctx, dbURL, nil)
				} else {
					db, err = duckdb.Open(ctx, data, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
			rng := rand.New(rand.NewPCG(11, 12))
			// want are the changes of the webhook's segments, poison those
			// of the entity the receiver refuses, last the highest seq.
			want, poison, last := map[int64]bool{}, map[int64]bool{}, int64(0)
			// record adds n changes of vip and lapsed (and of a segment
			// the webhook does not send), with the server down.
			record := func(n int) {
				db := open()
				defer db.Close()
				for range n {
					seg := []string{"vip", "lapsed", "other"}[rng.IntN(3)]
					ent := fmt.Sprintf("e%d", rng.IntN(200))
					if rng.IntN(120) == 0 {
						ent = "poison"
					}
					var seq int64
					err := db.QueryRowContext(ctx, `INSERT INTO segment_changes (segment_id, entity_id, change, changed_at, run_id)
						VALUES ($1, $2, $3, CAST($4 AS TIMESTAMPTZ), 'test') RETURNING seq`, seg, ent, []string{"entered", "exited"}[rng.IntN(2)], time.Now().UTC()).Scan(&seq)
					if err != nil {
						t.Fatal(err)
					}
					if seg != "other" {
						want[seq], poison[seq], last = true, ent == "poison", max(last, seq)
					}
				}
			}
			secret := "whsec-" + backend
			refuse := func(body []byte) bool { return strings.Contains(string(body), `"poison"`) }
			recv := webhooktest.Start(webhooktest.Options{Key: []byte(secret), Seed: 5, Fail500: 0.1, Fail429: 0.03, RetryAfter: "1",
				Slow: 0.05, SlowFor: 600 * time.Millisecond, Reset: 0.05, Refuse: refuse})
			t.Cleanup(recv.Close)

			record(1500)
			srv := start(t, args...)
			waitHealthy(t, base, srv)
			c := client.New(base, "")
			if _, err := c.Secrets().Put(ctx, "crm_key", map[string]any{"key": secret}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ApplyConfig(ctx, []byte(fmt.Sprintf(webhookYAML, recv.URL))); err != nil {
				t.Fatal(err)
			}
			for kill := range 4 {
				// Let some batches through, then crash mid-delivery.
				target := recv.Stats().Requests + 3 + rng.IntN(6)
				for deadline := time.Now().Add(60 * time.Second); recv.Stats().Requests < target; time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("kill %d: the webhook got %d requests, waited for %d; stderr:\n%s", kill, recv.Stats().Requests, target, srv.stderr)
					}
				}
				time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
				srv.kill()
				record(100)
				srv = start(t, args...)
				waitHealthy(t, base, srv)
			}

			// Everything is sent: the cursor reaches the last change.
			var err error
			var st *destination.Status
			for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				if st, err = c.Destination(ctx, "crm"); err != nil {
					t.Fatal(err)
				}
				if st.Cursor == last && st.Pending == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the cursor is at %d (%d pending), want %d; stderr:\n%s", st.Cursor, st.Pending, last, srv.stderr)
				}
			}
			// What did not arrive is in the dead letters: the batches that
			// held a change of poison.
			got := recv.Changes()
			for seq := range got {
				if !want[seq] || poison[seq] {
					t.Errorf("change %d arrived, which the webhook must not send (or the receiver refuses)", seq)
				}
			}
			dls, _, err := c.DeadLetters(ctx, "crm", 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			dead := map[int64]bool{}
			for _, dl := range dls {
				var body destination.ChangesBody
				if err := json.Unmarshal(dl.Request, &body); err != nil || dl.Status != 422 {
					t.Fatalf("dead letter %+v (%v)", dl, err)
				}
				for _, ch := range body.Changes {
					dead[ch.Seq] = true
				}
			}
			for seq := range want {
				if _, ok := got[seq]; !ok && !dead[seq] {
					t.Errorf("change %d neither arrived nor is a dead letter", seq)
				}
			}
			s := recv.Stats()
			if s.BadSignatures != 0 || s.Conflicts != 0 || s.Failed500 == 0 || s.Reset+s.Slow == 0 {
				t.Errorf("receiver stats %+v", s)
			}
			if st.DeadLetters == 0 || len(st.LastRuns) == 0 || st.Job != "destination:crm" {
				t.Fatalf("destination %+v", st)
			}
			t.Logf("%d changes (%d in dead letters) in %d keys through 4 kills: %+v", len(want), len(dead), len(recv.Keys()), s)

			// The CLI lists the destination and its dead letters; a
			// replay delivers them once the receiver takes them.
			list := start(t, "destinations", "list", "--server", base)
			if list.wait(t, 30*time.Second) != 0 || !strings.Contains(list.stdout.String(), "crm  webhook  "+fmt.Sprint(last)) {
				t.Fatalf("destinations list:\n%s%s", list.stdout, list.stderr)
			}
			deadCmd := start(t, "destinations", "dead-letters", "crm", "--server", base)
			if deadCmd.wait(t, 30*time.Second) != 0 || strings.Count(deadCmd.stdout.String(), "  422  ") != int(st.DeadLetters) {
				t.Fatalf("destinations dead-letters (want %d):\n%s%s", st.DeadLetters, deadCmd.stdout, deadCmd.stderr)
			}
			recv.SetOptions(webhooktest.Options{})
			replay := start(t, "destinations", "replay", "crm", "--server", base)
			if replay.wait(t, 30*time.Second) != 0 || !strings.Contains(replay.stdout.String(), fmt.Sprintf("Replaying %d dead letters in run ", st.DeadLetters)) {
				t.Fatalf("destinations replay:\n%s%s", replay.stdout, replay.stderr)
			}
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				if st, err = c.Destination(ctx, "crm"); err != nil {
					t.Fatal(err)
				}
				if st.DeadLetters == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("dead letters left after the replay: %+v", st)
				}
			}
			got = recv.Changes()
			if len(got) != len(want) {
				t.Errorf("%d changes arrived after the replay, want %d", len(got), len(want))
			}
			for seq := range want {
				if _, ok := got[seq]; !ok {
					t.Errorf("change %d not delivered, even by the replay", seq)
				}
			}
			if dls, _, err = c.DeadLetters(ctx, "crm", 0, 1000); err != nil {
				t.Fatal(err)
			}
			for _, dl := range dls {
				if dl.ReplayedAt == nil || recv.Keys()[dl.IdempotencyKey] == 0 {
					b, _ := json.Marshal(dl)
					t.Errorf("dead letter not replayed: %s", b)
				}
			}
		})
	}
}
