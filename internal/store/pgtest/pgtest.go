// Package pgtest gives tests a real PostgreSQL database.
//
// With WEFT_TEST_POSTGRES_URL set, tests use that server (its user must be
// allowed to create databases). Otherwise the
// first test that asks starts a throwaway cluster (initdb and pg_ctl in a
// temporary directory, on a free loopback port) that lives until the test
// binary exits; TestMain must call Main so the cluster is stopped. Each
// test gets a database of its own.
//
// Without PostgreSQL binaries, tests skip, except under CI=true, where a
// PostgreSQL test that cannot run fails.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding an existing server's URL.
const EnvURL = "WEFT_TEST_POSTGRES_URL"

// EnvDurable, set to 1, keeps fsync on in the throwaway cluster, for
// benchmarks whose figures must include durability.
const EnvDurable = "WEFT_TEST_POSTGRES_DURABLE"

var (
	once      sync.Once
	serverURL string
	startErr  error
	cluster   *Cluster
	dbCounter atomic.Int64
)

// Main runs the tests and stops the throwaway cluster, if one was started.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	return code
}

// URL creates a fresh, empty database for the test and returns its URL.
func URL(t testing.TB) string {
	t.Helper()
	base := serverBase(t)
	name := fmt.Sprintf("weft_test_%d_%d", os.Getpid(), dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return withDatabase(base, name)
}

// serverBase returns the URL of the server's maintenance database.
func serverBase(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			serverURL = u
			return
		}
		cluster, startErr = Start(&StartOpts{Durable: os.Getenv(EnvDurable) == "1"})
		if startErr == nil {
			serverURL = cluster.URL
		}
	})
	if startErr != nil {
		if errors.Is(startErr, ErrNoBinaries) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: %v (set %s or install PostgreSQL; CI=true makes this a failure)", startErr, EnvURL)
		}
		t.Fatalf("pgtest: %v", startErr)
	}
	return serverURL
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

// ErrNoBinaries means no initdb/pg_ctl was found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, pg_ctl) found")

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	URL  string
	Dir  string
	Port int
	bin  string
	cred *syscall.Credential
}

// StartOpts tune Start.
type StartOpts struct {
	// Durable keeps fsync on, for benchmarks; tests run faster without it.
	Durable bool
}

// Start initializes and starts a cluster in a new temporary directory.
func Start(opts *StartOpts) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "weft-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin}
	// initdb refuses to run as root: run the server as the postgres user.
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.cred = cred
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.Port = port
	settings := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories='%s' -c max_connections=200", port, dir)
	if !opts.Durable {
		settings += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
	}
	if out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", settings, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// Stop stops the cluster and removes its directory.
func (c *Cluster) Stop() {
	_, _ = c.run("pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.Dir)
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

// BinDir finds the directory of initdb and pg_ctl: PATH first, then the
// newest /usr/lib/postgresql/N/bin (Debian's layout).
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
