package main_test

// The walkthrough of docs/your-own-data.md, run as written: its weft.yaml,
// NDJSON file, PostgreSQL set-up and custom build.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/store/pgtest"
)

const (
	walkthrough = "../../docs/your-own-data.md"
	examples    = "../../docs/examples"
)

// readWalkthrough returns the walkthrough, failing the test unless it
// still shows each of the commands the test runs.
func readWalkthrough(t *testing.T, commands ...string) string {
	t.Helper()
	doc, err := os.ReadFile(walkthrough)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		if !strings.Contains(string(doc), c) {
			t.Errorf("docs/your-own-data.md no longer shows %q, which this test runs: update both", c)
		}
	}
	return string(doc)
}

// TestDocsWalkthrough applies docs/examples/weft.yaml, ingests
// docs/examples/events.ndjson and reads the profile the walkthrough shows,
// on DuckDB and on PostgreSQL set up by docs/examples/postgres.sql.
func TestDocsWalkthrough(t *testing.T) {
	doc := readWalkthrough(t,
		"./weft apply -f docs/examples/weft.yaml", "./weft ingest docs/examples/events.ndjson",
		"./weft stitch", "./weft attributes calculate", "./weft profiles get email:jane@example.com",
		"sudo -u postgres psql -f docs/examples/postgres.sql", "./weft serve --db 'postgres://weft:change-me@localhost:5432/weft'")
	checkYAMLSnippet(t, doc)
	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			addr := freeAddr(t)
			base := "http://" + addr
			args := []string{"serve", "--addr", addr, "--log-level", "warn", "--data", t.TempDir()}
			if backend == "postgres" {
				args = append(args, "--db", postgresAsDocumented(t))
			}
			srv := start(t, args...)
			waitHealthy(t, base, srv)
			run := func(want []string, args ...string) {
				t.Helper()
				p := start(t, append(args, "--server", base)...)
				if code := p.wait(t, 2*time.Minute); code != 0 {
					t.Fatalf("weft %s: exit %d: %s", strings.Join(args, " "), code, p.stderr)
				}
				for _, w := range want {
					if !strings.Contains(p.stdout.String(), w) {
						t.Errorf("weft %s printed no %q:\n%s", strings.Join(args, " "), w, p.stdout)
					}
				}
			}
			run([]string{"as config version 1."}, "apply", "-f", filepath.Join(examples, "weft.yaml"))
			run([]string{"9 records", "9 accepted, 0 duplicates, 0 rejected"}, "ingest", filepath.Join(examples, "events.ndjson"))
			run(nil, "stitch")
			run(nil, "attributes", "calculate")
			run([]string{"events:      6, from 2026-03-01T09:00:00Z to 2026-03-09T12:00:00Z", "cookie_id: ck_jane", "email: jane@example.com",
				"favorite_category: shoes", "last_seen: 2026-03-09T12:00:00Z", "orders: 2", "total_spend: 79.9"},
				"profiles", "get", "email:jane@example.com")
		})
	}
}

// checkYAMLSnippet checks the weft.yaml the walkthrough shows says what
// docs/examples/weft.yaml says.
func checkYAMLSnippet(t *testing.T, doc string) {
	t.Helper()
	m := regexp.MustCompile("(?s)```yaml\n(stitching:.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("docs/your-own-data.md shows no weft.yaml")
	}
	file, err := os.ReadFile(filepath.Join(examples, "weft.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	shown, err := config.Parse([]byte(m[1]))
	if err != nil {
		t.Fatalf("the walkthrough's weft.yaml: %v", err)
	}
	applied, err := config.Parse(file)
	if err != nil {
		t.Fatalf("docs/examples/weft.yaml: %v", err)
	}
	if a, b := shown.JSON(), applied.JSON(); a != b {
		t.Errorf("the walkthrough's weft.yaml differs from docs/examples/weft.yaml:\n%s\n%s", a, b)
	}
}

// postgresAsDocumented runs docs/examples/postgres.sql as a superuser on a
// throwaway server, with names of the test's own (the role and database
// weft may exist on a shared server), and returns the URL the walkthrough
// gives weft serve with those names.
func postgresAsDocumented(t *testing.T) string {
	t.Helper()
	super, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	sql, err := os.ReadFile(filepath.Join(examples, "postgres.sql"))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("weft_docs_%d", time.Now().UnixNano())
	stmts := strings.NewReplacer("ROLE weft ", "ROLE "+name+" ", "DATABASE weft OWNER weft", "DATABASE "+name+" OWNER "+name).Replace(string(sql))
	if !strings.Contains(stmts, "ROLE "+name) || !strings.Contains(stmts, "DATABASE "+name) {
		t.Fatalf("docs/examples/postgres.sql no longer creates the role and database weft:\n%s", sql)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, super.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range strings.Split(stripSQLComments(stmts), ";") {
		if s := strings.TrimSpace(stmt); s != "" {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("docs/examples/postgres.sql: %s: %v", s, err)
			}
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, super.String())
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck // best effort
		conn.Exec(ctx, "DROP ROLE IF EXISTS "+name)                     //nolint:errcheck // best effort
	})
	u := *super
	u.User = url.UserPassword(name, "change-me")
	u.Path = "/" + name
	return u.String()
}

func stripSQLComments(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestDocsCustomBuild builds docs/examples/custom-build beside this
// repository as the walkthrough says, and runs its job.
func TestDocsCustomBuild(t *testing.T) {
	readWalkthrough(t, "cp ../weft/go.sum . && go mod tidy && go build -o myweft .",
		"./myweft apply -f weft.yaml", "./myweft jobs trigger heartbeat --wait")
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(repo, filepath.Join(dir, "weft")); err != nil {
		t.Fatal(err)
	}
	my := filepath.Join(dir, "myweft")
	if err := os.CopyFS(my, os.DirFS(filepath.Join(examples, "custom-build"))); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("sh", "-c", "cp ../weft/go.sum . && go mod tidy && go build -o myweft .")
	build.Dir = my
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the custom weft: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	myweft := filepath.Join(my, "myweft")
	srv := startBin(t, myweft, "serve", "--addr", addr, "--log-level", "warn", "--data", t.TempDir())
	waitHealthy(t, base, srv)
	if p := startBin(t, myweft, "apply", "--server", base, "-f", filepath.Join(my, "weft.yaml")); p.wait(t, time.Minute) != 0 {
		t.Fatalf("apply: %s", p.stderr)
	}
	p := startBin(t, myweft, "jobs", "trigger", "--server", base, "heartbeat", "--wait")
	if code := p.wait(t, 2*time.Minute); code != 0 || !strings.Contains(p.stdout.String(), "heartbeat COMPLETE after 1 performs") {
		t.Fatalf("jobs trigger heartbeat --wait: exit %d\n%s%s", code, p.stdout, p.stderr)
	}
	var jobs struct {
		Jobs []struct{ Job, Cron string }
	}
	if code, _, body := httpDo(t, "GET", base+"/v1/jobs", "", nil); code != 200 || json.Unmarshal(body, &jobs) != nil {
		t.Fatalf("GET /v1/jobs: %d %s", code, body)
	}
	for _, j := range jobs.Jobs {
		if j.Job == "heartbeat" && j.Cron == "0 0 * * * ?" {
			return
		}
	}
	t.Errorf("the heartbeat job is not scheduled as weft.yaml declares: %+v", jobs.Jobs)
}
