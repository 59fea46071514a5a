package erasure_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/erasure"
	"github.com/weftdata/weft/internal/store/duckdb"
)

// The child process of TestEraseKilled: it erases the entities of
// envKillIDs from the store in envKillDir, one entity a transaction, and
// after the first writes the marker file and waits to be killed.
const (
	envKillDir = "WEFT_ERASURE_KILL_DIR"
	envKillIDs = "WEFT_ERASURE_KILL_IDS"
)

func init() {
	dir := os.Getenv(envKillDir)
	if dir == "" {
		return
	}
	db, err := duckdb.Open(context.Background(), dir, nil)
	if err != nil {
		os.Exit(3)
	}
	erasure.SetChunkHook(1, func() {
		_ = os.WriteFile(filepath.Join(dir, "marker"), nil, 0o644)
		time.Sleep(time.Minute)
	})
	_, _ = erasure.Erase(context.Background(), db, strings.Split(os.Getenv(envKillIDs), ","))
	os.Exit(4) // killed before
}

// TestEraseKilled: a process killed (SIGKILL) in the middle of an erasure
// leaves it pending, and the next Erase, in another process, finishes it.
func TestEraseKilled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := duckdb.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, db)
	needles := append([]string{f.alice, "ck-alice-1", "ck-alice-2"}, f.aliceIDs...)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), envKillDir+"="+dir, envKillIDs+"="+f.aliceID)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "marker")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never finished its first chunk")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	db, err = duckdb.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f.db = db
	if pending := countRows(t, f, "SELECT count(*) FROM erasure_pending"); pending != 2 {
		t.Fatalf("%d entities pending after the kill, want 2", pending)
	}
	if left := countRows(t, f, "SELECT count(*) FROM entities WHERE id IN ($1, $2)", f.aliceIDs[0], f.aliceIDs[1]); left != 1 {
		t.Fatalf("%d of alice's entities left after the kill, want 1 (one chunk committed)", left)
	}
	res, err := erasure.Erase(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entities != 1 {
		t.Errorf("the resumed erasure erased %+v, want the entity left", res)
	}
	if found := traces(t, db, needles...); len(found) > 0 {
		t.Errorf("traces of alice:\n%s", strings.Join(found, "\n"))
	}
	if msg := cacheMismatch(t, db); msg != "" {
		t.Error(msg)
	}
	if found := filesHolding(t, dir, f.alice); len(found) > 0 {
		t.Errorf("the erased e-mail is in %v", found)
	}
}
