package privacy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestSweepExports: export files written more than the retention ago are
// deleted, and their URLs answer ErrNoExport; newer ones stay; a negative
// retention keeps everything.
func TestSweepExports(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{DB: dbtest.Open(t, "duckdb"), BaseURL: "https://weft.example:7700/", KeyDir: t.TempDir(),
		ExportURL: "file://" + filepath.ToSlash(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.opts.ExportRetention != ExportRetentionDefault {
		t.Fatalf("retention %s, want the default %s", s.opts.ExportRetention, ExportRetentionDefault)
	}
	old, fresh := "a7551968-d5d6-44b2-9831-815ac9017798", "b7551968-d5d6-44b2-9831-815ac9017798"
	for _, id := range []string{old, fresh} {
		for _, f := range []string{DocumentFile, EventsFile} {
			if err := s.exports.WriteAll(ctx, id+"/"+f, []byte(id), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	past := time.Now().Add(-ExportRetentionDefault - time.Hour)
	for _, f := range []string{DocumentFile, EventsFile} {
		if err := os.Chtimes(filepath.Join(dir, old, f), past, past); err != nil {
			t.Fatal(err)
		}
	}
	open := func(id string) error {
		u, err := s.exportURL(ctx, id, EventsFile, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(u, "/")
		rd, err := s.OpenExport(ctx, id, EventsFile, parts[len(parts)-2], parts[len(parts)-1])
		if err == nil {
			rd.Close()
		}
		return err
	}
	log := slog.New(slog.DiscardHandler)
	s.opts.ExportRetention = -1
	if err := s.sweepExports(ctx, log); err != nil {
		t.Fatal(err)
	}
	if err := open(old); err != nil {
		t.Fatalf("a negative retention deleted an export: %v", err)
	}
	s.opts.ExportRetention = ExportRetentionDefault
	if err := s.sweepExports(ctx, log); err != nil {
		t.Fatal(err)
	}
	if err := open(old); err != ErrNoExport {
		t.Errorf("the export past its retention: %v, want ErrNoExport", err)
	}
	if _, err := os.Stat(filepath.Join(dir, old, DocumentFile)); !os.IsNotExist(err) {
		t.Errorf("the document past its retention is still in the folder: %v", err)
	}
	if err := open(fresh); err != nil {
		t.Errorf("the newer export: %v", err)
	}
}
