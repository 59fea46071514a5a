package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/destination/fileexport/fileexporttest"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/duckdb"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/store/postgres"
)

// killProfiles is how many profiles the killed export writes: enough
// that writing the file takes long enough to be killed in the middle.
const killProfiles = 300_000

// exportConfig declares a CSV export of every profile, with the
// attributes fileexporttest.Seed writes, to target.
func exportConfig(target string) string {
	return fileexporttest.Config + fmt.Sprintf("destinations:\n  - {id: everyone, type: file_export, target: %q, format: csv, identifiers: [email], attributes: %s}\n",
		target, fileexporttest.Attributes)
}

// visible lists the files of dir a reader sees (not hidden ones).
func visible(t *testing.T, dir string) (shown, hidden []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
		} else {
			shown = append(shown, e.Name())
		}
	}
	return shown, hidden
}

// TestFileExportKilled: weft serve killed with SIGKILL while it writes an
// export leaves no file a reader would see (only a hidden partial one);
// restarted, it resumes the run, removes the partial file and writes the
// whole file under the run's name. A target outside --export-folder is
// refused at apply.
func TestFileExportKilled(t *testing.T) {
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			data, exports := t.TempDir(), t.TempDir()
			storeArgs := []string{"--data", data}
			var db *store.DB
			var err error
			if backend == "postgres" {
				url := pgtest.URL(t)
				storeArgs = append(storeArgs, "--db", url, "--plugin-storage", "file://"+filepath.ToSlash(t.TempDir()))
				db, err = postgres.Open(ctx, url, nil)
			} else {
				db, err = duckdb.Open(ctx, data, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := fileexporttest.Seed(ctx, db, killProfiles); err != nil {
				t.Fatal(err)
			}
			db.Close()
			target := "file://" + filepath.ToSlash(filepath.Join(exports, "out"))
			cfgPath := filepath.Join(t.TempDir(), "weft.yaml")
			if err := os.WriteFile(cfgPath, []byte(exportConfig(target)), 0o644); err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			base := "http://" + addr
			args := append([]string{"serve", "--addr", addr, "--log-level", "warn", "--stitch-interval", "-1s", "--job-lease", "2s",
				"--config", cfgPath, "--export-folder", exports}, storeArgs...)
			srv := start(t, args...)
			waitHealthy(t, base, srv)
			c := client.New(base, "")

			// A target outside the export folders: 400, naming it.
			outside := exportConfig("file://" + filepath.ToSlash(t.TempDir()))
			status, _, body := httpDo(t, http.MethodPut, base+"/v1/config", "", []byte(outside))
			if status != http.StatusBadRequest || !bytes.Contains(body, []byte(`destinations[everyone].target: `)) || !bytes.Contains(body, []byte("--export-folder")) {
				t.Fatalf("apply with a target outside the export folders: %d %s", status, body)
			}

			run, err := c.TriggerJob(ctx, "destination:everyone", nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(exports, "out", "everyone")
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
				_, hidden := visible(t, dir)
				if len(hidden) == 1 {
					if fi, err := os.Stat(filepath.Join(dir, hidden[0])); err == nil && fi.Size() > 1<<20 {
						break
					}
				}
				if time.Now().After(deadline) {
					r, _ := c.JobRun(ctx, run.ID)
					t.Fatalf("no partial file of more than 1 MiB appeared; run %+v", r)
				}
			}
			srv.kill()
			shown, hidden := visible(t, dir)
			if len(shown) != 0 || len(hidden) != 1 {
				t.Fatalf("after the kill: files %v, hidden %v; want one hidden partial file alone", shown, hidden)
			}

			srv = start(t, args...)
			waitHealthy(t, base, srv)
			var done *store.JobRun
			for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
				if done, err = c.JobRun(ctx, run.ID); err != nil {
					t.Fatal(err)
				}
				if done.Status == store.RunComplete || done.Status == store.RunError || done.Status == store.RunTerminated {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the run did not finish after the restart: %+v", done)
				}
			}
			if done.Status != store.RunComplete {
				t.Fatalf("run after the restart: %+v", done)
			}
			shown, hidden = visible(t, dir)
			if len(shown) != 1 || len(hidden) != 0 || !strings.Contains(shown[0], run.ID) {
				t.Fatalf("after the resumed run: files %v, hidden %v; want the run's file alone", shown, hidden)
			}
			file, err := os.ReadFile(filepath.Join(dir, shown[0]))
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(file, []byte("\n")), []byte("\n"))
			if len(lines) != killProfiles+1 || string(lines[0]) != "entity_id,identifiers.email,attributes.spend,attributes.visits,attributes.vip,attributes.first_seen,attributes.last_seen" {
				t.Fatalf("the file has %d lines, starting %q", len(lines), lines[0])
			}
			if want := fileexporttest.Row(1); string(lines[1]) != want {
				t.Fatalf("first row %q, want %q", lines[1], want)
			}
		})
	}
}
