package identitytest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/store/postgres"
)

// The child process of TestKilledSplit (this test binary again): it opens
// the store envKillStore names ("duckdb:<dir>" or "postgres:<url>"),
// writes the file envKillMarker names, and stitches with the household
// config, killBatch events a pass, until it is killed.
const (
	envKillStore  = "WEFT_IDENTITYTEST_KILL_STORE"
	envKillMarker = "WEFT_IDENTITYTEST_KILL_MARKER"
	killBatch     = 400
)

// runKilledChild is the child's whole life; it returns at once in the
// test binary's own process.
func runKilledChild() {
	where := os.Getenv(envKillStore)
	if where == "" {
		return
	}
	ctx := context.Background()
	s, err := openStore(ctx, where)
	if err != nil {
		os.Exit(3)
	}
	eng, err := stitch.New(s, householdConfig, nil)
	if err != nil {
		os.Exit(4)
	}
	if err := os.WriteFile(os.Getenv(envKillMarker), nil, 0o644); err != nil {
		os.Exit(5)
	}
	if _, err := eng.Run(ctx, killBatch); err != nil {
		os.Exit(6)
	}
	os.Exit(0) // finished before the kill
}

// openStore opens "duckdb:<dir>" or "postgres:<url>".
func openStore(ctx context.Context, where string) (*store.DB, error) {
	backend, at, _ := strings.Cut(where, ":")
	if backend == "postgres" {
		return postgres.Open(ctx, at, nil)
	}
	return duckdb.Open(ctx, at, nil)
}

// killDelays are how long after the child's start each kill comes.
var killDelays = []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond}

// TestKilledSplit: the household population's first half (by arrival)
// joins the devices of households through their shared emails; the
// second half brings their logins, and the passes that stitch it split
// those entities. Children running those passes are killed (SIGKILL) at
// several moments; a clean Run afterwards must give exactly the entities,
// with the same ids, of the same passes on an undisturbed store.
func TestKilledSplit(t *testing.T) {
	events, _ := demo.Households(demo.HouseholdOptions{Customers: 1000, Seed: 21})
	records := lines(events)
	half := len(records) / 2
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clean := dbtest.Open(t, backend)
			want := cleanPasses(t, clean, records[:half], records[half:])
			var splits int
			if err := clean.QueryRowContext(ctx, `SELECT count(*) FROM stitch_splits`).Scan(&splits); err != nil {
				t.Fatal(err)
			}

			var where string
			if backend == "postgres" {
				where = "postgres:" + pgtest.URL(t)
			} else {
				where = "duckdb:" + t.TempDir()
			}
			s, err := openStore(ctx, where)
			if err != nil {
				t.Fatal(err)
			}
			ingest(t, s, records[:half])
			if _, err := newEngine(t, s, householdConfig).Run(ctx, killBatch); err != nil {
				t.Fatal(err)
			}
			ingest(t, s, records[half:])
			// DuckDB's file is one process's at a time.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			killed := 0
			for _, delay := range killDelays {
				if killChild(t, where, delay) {
					killed++
				}
			}
			if killed == 0 {
				t.Fatal("every child finished its passes before it was killed: the test proved nothing")
			}
			s, err = openStore(ctx, where)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := newEngine(t, s, householdConfig).Run(ctx, killBatch); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d of %d children killed in their passes", killed, len(killDelays))
			if d := diff(want, entityOf(t, s)); d != "" {
				t.Errorf("after the kills and a clean pass: %s", d)
			}
			if n := deadOwners(t, s); n != 0 {
				t.Errorf("%d events belong to an entity that is missing or merged", n)
			}
			if splits == 0 {
				t.Error("the clean passes recorded no split: the children were not killed in one")
			}
		})
	}
}

// cleanPasses stitches the two parts, a Run after each, and returns the
// entities.
func cleanPasses(t *testing.T, s *store.DB, first, second []string) map[string]string {
	t.Helper()
	eng := newEngine(t, s, householdConfig)
	for _, part := range [][]string{first, second} {
		ingest(t, s, part)
		if _, err := eng.Run(context.Background(), killBatch); err != nil {
			t.Fatal(err)
		}
	}
	return entityOf(t, s)
}

// killChild starts a child on the store, kills it delay after it opened
// the store and reports whether it was still running its passes.
func killChild(t *testing.T, where string, delay time.Duration) bool {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "started")
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), envKillStore+"="+where, envKillMarker+"="+marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the child exited before it started its passes: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child never opened the store")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the child failed: %v", err)
		}
		return false
	case <-time.After(delay):
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	err := <-done
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true
		}
	}
	if err != nil {
		t.Fatalf("the child failed: %v", err)
	}
	return false
}

// deadOwners counts events mapped to an entity that is not a live one.
func deadOwners(t *testing.T, s *store.DB) int {
	t.Helper()
	var n int
	err := s.QueryRowContext(context.Background(), `SELECT count(*) FROM entity_events ee
		LEFT JOIN entities n ON n.id = ee.entity_id WHERE n.id IS NULL OR n.merged_into IS NOT NULL`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
