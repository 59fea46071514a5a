package duckdb

import (
	"context"
	"strings"
	"testing"
)

// TestLockedDown: no statement reaches the server's files or changes the
// configuration, while what Weft itself runs (checkpoints, UTC, the JSON
// macros) still works.
func TestLockedDown(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for q, want := range map[string]string{
		"SELECT content FROM read_text('/etc/passwd')":      "disabled by configuration",
		"SELECT * FROM read_csv('/etc/passwd')":             "disabled by configuration",
		"SELECT * FROM glob('/etc/*')":                      "disabled by configuration",
		"COPY (SELECT 1) TO '/tmp/weft-lockdown-probe.csv'": "disabled by configuration",
		"ATTACH '/tmp/weft-lockdown-probe.db' AS probe":     "disabled by configuration",
		"INSTALL httpfs":                                        "disabled",
		"LOAD httpfs":                                           "disabled",
		"SET enable_external_access = true":                     "the configuration has been locked",
		"SET GLOBAL lock_configuration = false":                 "the configuration has been locked",
		"SET TimeZone = 'Europe/Prague'":                        "the configuration has been locked",
		"SELECT * FROM query('CREATE TABLE probe (a INTEGER)')": "Expected a single SELECT statement",
		"SELECT * FROM (WITH d AS (DELETE FROM event_log RETURNING 1) SELECT * FROM d)": "CTE",
	} {
		_, err := db.ExecContext(ctx, q)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", q, err, want)
		}
	}
	var tz, arr string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('TimeZone'), CAST(json_build_array(1, 2) AS TEXT)").Scan(&tz, &arr); err != nil || tz != "UTC" || arr != "[1,2]" {
		t.Errorf("time zone %q, json_build_array %q: %v", tz, arr, err)
	}
	for _, q := range []string{"CHECKPOINT", "FORCE CHECKPOINT"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}
