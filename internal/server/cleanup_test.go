package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/store/duckdb"
)

// A start that fails late (the --config file is invalid, after the store,
// the listener and the plugin service are open) leaves nothing open: the
// port is free and another process can open the DuckDB file, which it
// could not while this one held it.
func TestStartFailingLateReleasesEverything(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(t.TempDir(), "weft.yaml")
	if err := os.WriteFile(bad, []byte("stitching: [not, a, mapping\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, err := Start(context.Background(), Config{Addr: addr, DataDir: dir, ConfigFile: bad,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("start with a bad --config: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is still taken: %v", err)
	}
	ln.Close()
	if out, err := openInOtherProcess(t, dir); err != nil {
		t.Fatalf("the DuckDB file is still held: %v\n%s", err, out)
	}
}

// openInOtherProcess opens the DuckDB store in dir from a child process
// (this test binary, running TestOpenStoreChild): DuckDB's file lock only
// shows between processes.
func openInOtherProcess(t *testing.T, dir string) ([]byte, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenStoreChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WEFT_TEST_OPEN_DUCKDB="+dir)
	return cmd.CombinedOutput()
}

func TestOpenStoreChild(t *testing.T) {
	dir := os.Getenv("WEFT_TEST_OPEN_DUCKDB")
	if dir == "" {
		t.Skip("run by TestStartFailingLateReleasesEverything")
	}
	st, err := duckdb.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The child really sees a held store: while this process has it open,
// opening it elsewhere fails (else the test above would prove nothing).
func TestOpenStoreChildSeesAHeldStore(t *testing.T) {
	dir := t.TempDir()
	st, err := duckdb.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if out, err := openInOtherProcess(t, dir); err == nil {
		t.Fatalf("a second process opened a held store:\n%s", out)
	}
}
