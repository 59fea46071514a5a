package bench_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/weftdata/weft/internal/bench"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/duckdb"
)

// The child process of TestRebuildMemoryBound: it rebuilds the stitching
// of the store in WEFT_REBUILD_CHILD_DATA with DuckDB's memory_limit
// WEFT_REBUILD_CHILD_DUCKDB and, when WEFT_REBUILD_CHILD_GO is set, that
// soft limit of the Go heap (what --go-memory-limit sets).
func init() {
	dir := os.Getenv("WEFT_REBUILD_CHILD_DATA")
	if dir == "" {
		return
	}
	if err := rebuildChild(dir, os.Getenv("WEFT_REBUILD_CHILD_DUCKDB"), os.Getenv("WEFT_REBUILD_CHILD_GO")); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

func rebuildChild(dir, duckLimit, goLimit string) error {
	if goLimit != "" {
		n, err := strconv.ParseInt(goLimit, 10, 64)
		if err != nil {
			return err
		}
		debug.SetMemoryLimit(n)
	}
	// As weft serve and weft bench run: collect when the heap grew by 300%
	// (--gc-percent's default).
	debug.SetGCPercent(300)
	return withDemoStore(dir, duckLimit, func(ctx context.Context, db *store.DB, cfg *config.Config) error {
		eng, err := stitch.New(db, cfg.Stitching, nil)
		if err != nil {
			return err
		}
		if _, err = eng.Rebuild(ctx, 0); err != nil {
			return err
		}
		// What stays on the Go heap with the engine's index resident, as
		// in weft serve after a rebuild: --gc-percent lets the heap grow
		// by three times that before each collection.
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		fmt.Printf("live heap after the rebuild: %d\n", ms.HeapAlloc)
		runtime.KeepAlive(eng)
		return nil
	})
}

// rebuildPeakRSS runs a rebuild in a child process and returns its peak
// resident memory and its live Go heap after the rebuild.
func rebuildPeakRSS(t *testing.T, dir, duckLimit string, goLimit int64) (rss, live int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WEFT_REBUILD_CHILD_DATA="+dir, "WEFT_REBUILD_CHILD_DUCKDB="+duckLimit, "WEFT_REBUILD_CHILD_GO=")
	if goLimit > 0 {
		cmd.Env[len(cmd.Env)-1] += strconv.FormatInt(goLimit, 10)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rebuild (memory_limit %s, Go limit %d): %v\n%s", duckLimit, goLimit, err, out)
	}
	const prefix = "live heap after the rebuild: "
	i := strings.Index(string(out), prefix)
	if i < 0 {
		t.Fatalf("the rebuild's child did not report its live heap:\n%s", out)
	}
	if _, err := fmt.Sscan(string(out[i+len(prefix):]), &live); err != nil {
		t.Fatalf("the rebuild's child's live heap: %v\n%s", err, out)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10, live // KiB on Linux
}

// TestRebuildMemoryBound rebuilds the stitching of 2M demo events in a
// child process twice: with no bound (DuckDB's memory_limit as Weft had it
// before step 14, 80% of the machine, and the Go heap free to grow to four
// times its live size) and with the settings that bound it
// (--duckdb-memory-limit 1GB, --go-memory-limit 700MiB), and checks that
// both peak under a bound the rebuild exceeded before: at 2M events the
// rebuild without a bound peaked at 2.1 GiB before step 14 and at 2.3 GiB
// on main before the index moved off the Go heap and the rebuild's passes
// shrank to 250,000 events (2026-12-07), 1.5 GiB since; bounded, 1.3 to
// 1.6 GiB. (Until then the test required the run without a bound to
// exceed the bound, to show that the settings bound something; now the
// rebuild stays under it without them, which is the stronger check.)
//
// It also checks what the Go heap holds after a rebuild with the engine's
// index resident: the index and DuckDB's event id set are mapped outside
// the heap (package offheap), so that little stays (at 2M events 110 MiB
// stayed before, the index and the id set, which --gc-percent 300 let the
// heap grow by three times more before each collection).
//
// Loading 2M events and two rebuilds take one to two minutes, so it runs
// in CI (CI=true) and when WEFT_REBUILD_MEMORY_TEST_EVENTS gives the size.
func TestRebuildMemoryBound(t *testing.T) {
	events := 2_000_000
	if v := os.Getenv("WEFT_REBUILD_MEMORY_TEST_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("WEFT_REBUILD_MEMORY_TEST_EVENTS=%q: want a number of events", v)
		}
		events = n
	} else if os.Getenv("CI") != "true" {
		t.Skip("runs in CI, or with WEFT_REBUILD_MEMORY_TEST_EVENTS=2000000: it loads that many demo events (a minute)")
	}
	const bound = 1800 << 20
	const liveBound = 48 << 20
	ctx := context.Background()
	dir := t.TempDir()
	db, err := duckdb.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bench.Stitch(ctx, bench.StitchOpts{DB: db, Events: events, Customers: events / 10, LoadOnly: true})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	unbounded, live := rebuildPeakRSS(t, dir, "64GB", 0)
	bounded, _ := rebuildPeakRSS(t, dir, "1GB", 700<<20)
	t.Logf("%d events: rebuild peak RSS %d MiB unbounded, %d MiB bounded (bound %d MiB); live Go heap after it %d MiB", events, unbounded>>20, bounded>>20, bound>>20, live>>20)
	if live > liveBound {
		t.Errorf("after the rebuild the Go heap holds %d MiB, over %d MiB: is the index on the heap again?", live>>20, liveBound>>20)
	}
	if unbounded > bound {
		t.Errorf("without --duckdb-memory-limit and --go-memory-limit the rebuild reached %d MiB, over %d MiB (1.5 GiB on 2026-12-07): is the index on the Go heap again, or are the passes larger?", unbounded>>20, bound>>20)
	}
	if bounded > bound {
		t.Errorf("with --duckdb-memory-limit 1GB and --go-memory-limit 700MiB the rebuild reached %d MiB, over %d MiB", bounded>>20, bound>>20)
	}
}
