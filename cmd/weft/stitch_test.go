package main_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
)

// TestStitchingCommands runs serve with a weft.yaml, lets the background
// loop stitch what weft ingest sends, and drives weft apply, stitch and
// profiles get as a user would, on both backends.
func TestStitchingCommands(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			opts := demo.Options{Customers: 200, Seed: 5}
			cfgPath, eventsPath := writeDemo(t, dir, opts)

			addr := freeAddr(t)
			base := "http://" + addr
			args := append(serveArgs(t, backend, addr), "--config", cfgPath, "--stitch-interval", "200ms")
			srv := start(t, args...)
			waitHealthy(t, base, srv)
			ingestFile(t, base, eventsPath, 60*time.Second)
			// The background loop catches up without being asked.
			c := client.New(base, "")
			deadline := time.Now().Add(60 * time.Second)
			for {
				st, err := c.Stats(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if st.StitchedSeq == st.MaxSeq && st.Entities > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("background stitching did not catch up: %+v", st)
				}
				time.Sleep(100 * time.Millisecond)
			}

			var email string
			deadline = time.Now().Add(60 * time.Second)
			for i := range opts.Customers {
				if cust := demo.CustomerAt(opts, i); cust.CRMID != "" && !cust.Household {
					email = cust.Email
					break
				}
			}
			// The background loop calculates attributes after stitching.
			for {
				e, err := c.EntityByIdentifier(context.Background(), "email", email)
				if err != nil {
					t.Fatal(err)
				}
				if e.Attributes["engagement"] != nil { // the last one calculated
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no attributes calculated in the background: %+v", e)
				}
				time.Sleep(100 * time.Millisecond)
			}
			p := start(t, "profiles", "get", "--server", base, "email:"+email)
			if p.wait(t, 30*time.Second) != 0 || !strings.Contains(p.stdout.String(), "email: "+email) || !strings.Contains(p.stdout.String(), "crm_id: CRM-") ||
				!strings.Contains(p.stdout.String(), "    page_views: ") {
				t.Fatalf("profiles get: %s %s", p.stdout, p.stderr)
			}
			p = start(t, "attributes", "calculate", "--server", base, "--only", "orders,devices", "--recalculate-all")
			if p.wait(t, 60*time.Second) != 0 || !regexp.MustCompile(`\n  orders +ok \(all entities\)`).MatchString(p.stdout.String()) {
				t.Fatalf("attributes calculate: %s %s", p.stdout, p.stderr)
			}
			p = start(t, "attributes", "values", "--server", base, "devices")
			if p.wait(t, 30*time.Second) != 0 || !strings.Contains(p.stdout.String(), "devices: ") {
				t.Fatalf("attributes values: %s %s", p.stdout, p.stderr)
			}
			p = start(t, "profiles", "get", "--server", base, "email:nobody@example.com")
			if p.wait(t, 30*time.Second) != 1 || !strings.Contains(p.stderr.String(), "no entity holds identifier email:nobody@example.com") {
				t.Fatalf("profiles get of an unknown identifier: %s", p.stderr)
			}

			p = start(t, "stitch", "--server", base, "--from-scratch")
			if p.wait(t, 60*time.Second) != 0 || !strings.Contains(p.stdout.String(), "from scratch") {
				t.Fatalf("stitch --from-scratch: %s %s", p.stdout, p.stderr)
			}

			bad := filepath.Join(dir, "bad.yaml")
			os.WriteFile(bad, []byte(strings.Replace(string(demo.Config), "lower(trim(payload->>'email'))", "lower(trim(payload->>'email')", 1)), 0o644)
			p = start(t, "apply", "--server", base, "-f", bad)
			if p.wait(t, 30*time.Second) != 1 || !strings.Contains(p.stderr.String(), "stitching.rules[2] (email from web/form_submit)") {
				t.Fatalf("apply of a bad config: %s", p.stderr)
			}
			p = start(t, "apply", "--server", base, "-f", cfgPath)
			if p.wait(t, 30*time.Second) != 0 || !strings.Contains(p.stdout.String(), "config version 2") || strings.Contains(p.stdout.String(), "rebuilt") {
				t.Fatalf("apply of the same rules: %s %s", p.stdout, p.stderr)
			}
		})
	}
}

// TestCrashDuringStitching kills the server with SIGKILL in the middle of a
// rebuild, restarts it, lets stitching finish, and checks that the result
// is what an uninterrupted rebuild gives. A rebuild commits its reset
// first and its passes together at their end (package stitch, bulk.go), so
// the middle shows from outside as a committed watermark below the log's
// end: the test watches the stats while the rebuild runs and kills the
// server as soon as it sees that, and the state after the restart shows
// that it interrupted one (the reset committed, the passes not).
func TestCrashDuringStitching(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfgPath, eventsPath := writeDemo(t, t.TempDir(), demo.Options{Customers: 3000, Seed: 9})

			addr := freeAddr(t)
			base := "http://" + addr
			args := serveArgs(t, backend, addr) // the same data dir or database on restart
			args = append(args, "--config", cfgPath, "--stitch-interval", "-1s", "--stitch-batch", "1000")
			srv := start(t, args...)
			waitHealthy(t, base, srv)
			ingestFile(t, base, eventsPath, 120*time.Second)
			c := client.New(base, "")
			ctx := context.Background()
			if _, err := c.Stitch(ctx, true); err != nil {
				t.Fatal(err)
			}
			clean, err := c.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			interrupted := false
			for try := 0; try < 5 && !interrupted; try++ {
				done := make(chan struct{})
				go func() {
					c.Stitch(ctx, true) //nolint:errcheck // the server dies under it
					close(done)
				}()
				if !inRebuild(ctx, c, done) {
					continue // it ended before the stats showed its middle; try again
				}
				srv.kill()
				<-done
				srv = start(t, args...)
				waitHealthy(t, base, srv)
				st, err := c.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				interrupted = st.StitchedSeq < st.MaxSeq
			}
			if !interrupted {
				t.Fatal("never caught a rebuild in the middle")
			}
			if _, err := c.Stitch(ctx, false); err != nil {
				t.Fatal(err)
			}
			afterCrash, err := c.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if afterCrash.StitchedSeq != afterCrash.MaxSeq || afterCrash.Entities != clean.Entities ||
				*afterCrash.LargestEntity != *clean.LargestEntity || afterCrash.Audit["max_per_entity"] != clean.Audit["max_per_entity"] {
				t.Errorf("after the crash %+v\nclean rebuild %+v", afterCrash, clean)
			}
			for cat, n := range clean.Identifiers {
				if afterCrash.Identifiers[cat] != n {
					t.Errorf("%s: %d identifiers after the crash, %d in a clean rebuild", cat, afterCrash.Identifiers[cat], n)
				}
			}
		})
	}
}

// inRebuild polls the stats until they show a rebuild's reset committed
// and its passes not (a watermark below the log's end), and reports
// whether they did before done closed.
func inRebuild(ctx context.Context, c *client.Client, done <-chan struct{}) bool {
	for {
		select {
		case <-done:
			return false
		default:
		}
		if st, err := c.Stats(ctx); err == nil && st.StitchedSeq < st.MaxSeq {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// writeDemo writes the demo weft.yaml and dataset into dir.
func writeDemo(t *testing.T, dir string, opts demo.Options) (cfgPath, eventsPath string) {
	var nd strings.Builder
	for e := range demo.Events(opts) {
		nd.Write(e.AppendJSON(nil))
		nd.WriteByte('\n')
	}
	cfgPath, eventsPath = filepath.Join(dir, "weft.yaml"), filepath.Join(dir, "events.ndjson")
	if err := errors.Join(os.WriteFile(cfgPath, demo.Config, 0o644), os.WriteFile(eventsPath, []byte(nd.String()), 0o644)); err != nil {
		t.Fatal(err)
	}
	return cfgPath, eventsPath
}

// TestCrashDuringAttributes kills the server with SIGKILL while it
// calculates attributes from scratch, restarts it, lets the next run catch
// up, and checks every profile's attributes against a clean calculation.
func TestCrashDuringAttributes(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfgPath, eventsPath := writeDemo(t, t.TempDir(), demo.Options{Customers: 2000, Seed: 12})
			addr := freeAddr(t)
			base := "http://" + addr
			args := append(serveArgs(t, backend, addr), "--config", cfgPath, "--stitch-interval", "-1s")
			srv := start(t, args...)
			waitHealthy(t, base, srv)
			ingestFile(t, base, eventsPath, 120*time.Second)
			c := client.New(base, "")
			ctx := context.Background()
			if _, err := c.Stitch(ctx, false); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CalculateAttributes(ctx, attr.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			// Kill at a few points of a run from scratch; wherever it lands,
			// the next run must repair it.
			for _, after := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond, 600 * time.Millisecond} {
				go c.CalculateAttributes(ctx, attr.RunOptions{FromScratch: true}) //nolint:errcheck // the server dies under it
				time.Sleep(after)
				srv.kill()
				srv = start(t, args...)
				waitHealthy(t, base, srv)
			}
			if _, err := c.CalculateAttributes(ctx, attr.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			repaired := profiles(t, c)
			if _, err := c.CalculateAttributes(ctx, attr.RunOptions{FromScratch: true}); err != nil {
				t.Fatal(err)
			}
			clean := profiles(t, c)
			if len(clean) < 1000 || len(repaired) != len(clean) {
				t.Fatalf("%d profiles after the crashes, %d in a clean run", len(repaired), len(clean))
			}
			for id, want := range clean {
				if !sameJSON(repaired[id], want) {
					t.Fatalf("entity %s: after the crashes %v\nclean %v", id, repaired[id], want)
				}
			}
		})
	}
}

// profiles reads every profile's attributes.
func profiles(t *testing.T, c *client.Client) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	after := ""
	for {
		page, err := c.Entities(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			out[e.ID] = e.Attributes
		}
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

// sameJSON compares decoded JSON, floats within a relative 1e-9 (sums may
// differ in the last bit with the order of addition).
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(x))
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !sameJSON(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
