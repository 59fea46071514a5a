package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/internal/store/postgres"
)

// plainLogin makes a login role that owns a new database, as the
// documented setup does (no superuser, no CREATEROLE), runs extra as the
// superuser, and returns the URL of the database as that login.
func plainLogin(t *testing.T, extra ...string) (string, string) {
	t.Helper()
	super, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, super.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("plain_%d", time.Now().UnixNano())
	for _, q := range append([]string{"CREATE ROLE " + name + " LOGIN PASSWORD 'pw'", "CREATE DATABASE " + name + " OWNER " + name}, extra...) {
		if _, err := conn.Exec(ctx, strings.ReplaceAll(q, "LOGIN_NAME", name)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	u := *super
	u.User = url.UserPassword(name, "pw")
	u.Path = "/" + name
	return u.String(), name
}

// confined runs q as SQL from the config that only reads and returns its
// one text value.
func confined(t *testing.T, db *store.DB, q string) (string, error) {
	t.Helper()
	var v string
	err := store.RunConfigSQL(context.Background(), db, db.Capabilities(), true, func(x store.Executor) error {
		return x.QueryRowContext(context.Background(), q).Scan(&v)
	})
	return v, err
}

// TestConfigSQLRole: with the role made by a DBA beforehand, a plain
// login runs config SQL as it: it reads the customer tables, not Weft's
// own, and its session changes do not outlive the statement.
func TestConfigSQLRole(t *testing.T) {
	u, login := plainLogin(t, "CREATE ROLE LOGIN_NAME_config_sql NOLOGIN", "GRANT LOGIN_NAME_config_sql TO LOGIN_NAME")
	db, err := postgres.Open(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if w := db.Warnings(); len(w) != 0 {
		t.Errorf("warnings of a plain login with the role: %v", w)
	}
	if who, err := confined(t, db, "SELECT current_user"); err != nil || who != login+"_config_sql" {
		t.Fatalf("config SQL runs as %q (%v), want %s_config_sql", who, err, login)
	}
	if _, err := confined(t, db, "SELECT CAST(count(*) AS TEXT) FROM customer_events"); err != nil {
		t.Errorf("read customer_events: %v", err)
	}
	for _, q := range []string{"SELECT key FROM plugin_keys", "SELECT value FROM kv_records", "SELECT body FROM configs",
		"SELECT pg_read_file('/etc/passwd')", "SELECT CAST(setval('customer_events_seq', 3) AS TEXT)"} {
		if v, err := confined(t, db, q); err == nil || !strings.Contains(err.Error(), "denied") {
			t.Errorf("%s: %q %v, want permission denied", q, v, err)
		}
	}
	for range 20 { // every connection of the pool
		if _, err := confined(t, db, "SELECT set_config('default_transaction_read_only', 'on', false)"); err != nil {
			t.Fatal(err)
		}
	}
	var ro string
	if err := db.QueryRowContext(context.Background(), "SHOW default_transaction_read_only").Scan(&ro); err != nil || ro != "off" {
		t.Fatalf("after set_config in config SQL, default_transaction_read_only is %q (%v)", ro, err)
	}
}

// TestConfigSQLWithoutRole: a plain login that may not make the role (the
// documented setup) still starts, warns, and runs config SQL that reads
// in read-only transactions rolled back.
func TestConfigSQLWithoutRole(t *testing.T) {
	u, login := plainLogin(t)
	db, err := postgres.Open(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if w := strings.Join(db.Warnings(), "\n"); !strings.Contains(w, "without a restricted role") || !strings.Contains(w, "CREATE ROLE \""+login+"_config_sql\" NOLOGIN") {
		t.Errorf("warnings: %s", w)
	}
	if _, err := confined(t, db, "SELECT CAST(nextval('customer_events_seq') AS TEXT)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("nextval in config SQL: %v, want refused in a read-only transaction", err)
	}
	if _, err := confined(t, db, "SELECT pg_read_file('/etc/passwd')"); err == nil {
		t.Error("a plain login read a server file")
	}
}
