package cli_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/cli"
	"github.com/weftdata/weft/internal/server"
	"github.com/weftdata/weft/internal/worked"
)

func startServer(t *testing.T, keys ...string) *server.Server {
	t.Helper()
	s, err := server.Start(context.Background(), server.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), APIKeys: keys, StitchInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

// After a 401 the CLI says how to send a key, and prints no totals line.
func TestUnauthorizedHint(t *testing.T) {
	t.Setenv("WEFT_API_KEY", "")
	t.Setenv("WEFT_API_KEYS", "")
	s := startServer(t, "right-key")
	file := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(file, []byte(strings.Join(worked.Events, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"ingest", file}, {"ingest", file, "--api-key", "wrong"}, {"attributes", "list"}} {
		out, code := weft(t, s, args...)
		if code == 0 || !strings.Contains(out, "401") || !strings.Contains(out, "hint:") || !strings.Contains(out, "--api-key") {
			t.Errorf("weft %s: exit %d:\n%s", strings.Join(args, " "), code, out)
		}
		if strings.Contains(out, "records in") {
			t.Errorf("weft %s printed a totals line:\n%s", strings.Join(args, " "), out)
		}
	}
	if out, code := weft(t, s, "ingest", file, "--api-key", "right-key"); code != 0 || strings.Contains(out, "hint:") || !strings.Contains(out, "records in") {
		t.Errorf("with the key: exit %d:\n%s", code, out)
	}
}

// weft attributes list shows each attribute's last run, as the README
// promises: never before the first, then when and for how many.
func TestAttributesListShowsLastRun(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	cfg, events := filepath.Join(dir, "weft.yaml"), filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(cfg, []byte(worked.Config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(events, []byte(strings.Join(worked.Events, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"apply", "-f", cfg}, {"ingest", events}} {
		if out, code := weft(t, s, args...); code != 0 {
			t.Fatalf("weft %s: %s", strings.Join(args, " "), out)
		}
	}
	out, _ := weft(t, s, "attributes", "list")
	if !strings.Contains(out, "LAST RUN") || !regexp.MustCompile(`(?m)^purchases_custom .* never `).MatchString(out) {
		t.Fatalf("before a run:\n%s", out)
	}
	if _, err := s.Pipeline.Stitch(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if out, code := weft(t, s, "attributes", "calculate"); code != 0 {
		t.Fatalf("attributes calculate: %s", out)
	}
	out, _ = weft(t, s, "attributes", "list")
	if !regexp.MustCompile(`(?m)^purchases_custom .* \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(3 entities, \d+ms\)\s+ok$`).MatchString(out) {
		t.Fatalf("after a run:\n%s", out)
	}
}

// quickstart --help shows the --data default quickstart really uses.
func TestQuickstartHelpDataDefault(t *testing.T) {
	t.Setenv("WEFT_DATA", "")
	var out, errOut strings.Builder
	if code := cli.Main([]string{"quickstart", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	help := out.String()
	if strings.Contains(help, server.DataDefault) || !strings.Contains(help, "default a new temporary directory") {
		t.Errorf("--data help:\n%s", help)
	}
}

// weft attributes list shows the values that did not convert in an
// attribute's casts, with an example event.
func TestAttributesListShowsCastFailures(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	cfg, events := filepath.Join(dir, "weft.yaml"), filepath.Join(dir, "events.ndjson")
	yaml := worked.Config + "  - {id: spent_text, type: sum, value: \"(payload->>'total')::numeric\"}\n"
	lines := append(slices.Clone(worked.Events),
		worked.Record("bad1", "eshop/purchase", "2024-01-06T10:00", `{"email":"jane@example.com","total":"12,50"}`))
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"apply", "-f", cfg}, {"ingest", events}} {
		if out, code := weft(t, s, args...); code != 0 {
			t.Fatalf("weft %s: %s", strings.Join(args, " "), out)
		}
	}
	if _, err := s.Pipeline.Stitch(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if out, code := weft(t, s, "attributes", "calculate"); code != 0 {
		t.Fatalf("attributes calculate: %s", out)
	}
	out, _ := weft(t, s, "attributes", "list")
	if !regexp.MustCompile(`(?m)^spent_text .*ok \(values that did not convert, counted as NULL: 1, e\.g\. event bad1\)$`).MatchString(out) ||
		regexp.MustCompile(`(?m)^purchases_custom .*did not convert`).MatchString(out) {
		t.Fatalf("attributes list:\n%s", out)
	}
}
