package duckdb

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/storetest"
)

// envKillDir names the store of TestAppendKilled's child process (this
// test binary again): it appends batches straight to event_log
// (AppendEvents) and, after each append returns, writes how many events
// have been acknowledged to ack in that folder, until it is killed.
const envKillDir = "WEFT_DUCKDB_KILL_DIR"

func killedChild(dir string) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(dir, "store"), nil)
	if err != nil {
		os.Exit(3)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b := 0; ; b++ {
		events := make([]store.EventInsert, 500)
		for i := range events {
			events[i] = storetest.Ev(fmt.Sprintf("k-%d-%d", b, i), "web", "page_view", at, `{"n": 1}`)
		}
		if _, err := s.EventAppendMany(ctx, &store.EventAppendManyParams{Events: events}); err != nil {
			os.Exit(4)
		}
		tmp := filepath.Join(dir, "ack.tmp")
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(500*(b+1))), 0o644); err != nil || os.Rename(tmp, filepath.Join(dir, "ack")) != nil {
			os.Exit(5)
		}
	}
}

// TestAppendKilled: a process appending (the direct path, after the first
// batch) is killed with SIGKILL at several moments; every event whose
// append had returned is in the log when the store is opened again.
func TestAppendKilled(t *testing.T) {
	if dir := os.Getenv(envKillDir); dir != "" {
		killedChild(dir)
		return
	}
	for _, delay := range []time.Duration{300 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run", "^TestAppendKilled$")
			cmd.Env = append(os.Environ(), envKillDir+"="+dir)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait for the first acknowledged batch, then some more.
			for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
				if _, err := os.Stat(filepath.Join(dir, "ack")); err == nil {
					break
				}
				if time.Since(start) > time.Minute {
					cmd.Process.Kill()
					t.Fatal("the child acknowledged nothing in a minute")
				}
			}
			time.Sleep(delay)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			data, err := os.ReadFile(filepath.Join(dir, "ack"))
			if err != nil {
				t.Fatal(err)
			}
			acked, _ := strconv.Atoi(string(data))
			b, err := newBackend(filepath.Join(dir, "store", FileName), (*Settings)(nil).WithDefaults(filepath.Join(dir, "store")))
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(context.Background(), b, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			st, err := s.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// The log holds whole batches: every acknowledged one, and
			// perhaps the one whose acknowledgement the kill cut short.
			if st.Events < int64(acked) || st.Events%500 != 0 {
				t.Fatalf("after the kill the log holds %d events; %d were acknowledged", st.Events, acked)
			}
			var missing int
			last := fmt.Sprintf("k-%d-499", acked/500-1)
			if err := b.db.QueryRow(`SELECT count(*) FROM event_log WHERE id = $1`, last).Scan(&missing); err != nil || missing != 1 {
				t.Fatalf("the last acknowledged event %s: found %d, %v", last, missing, err)
			}
			t.Logf("killed after %d acknowledged events; %d in the log", acked, st.Events)
		})
	}
}
