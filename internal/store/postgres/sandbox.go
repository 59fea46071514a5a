package postgres

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// SQL from the config runs as a restricted role, <login>_config_sql:
// NOLOGIN, granted SELECT on the customer tables and views that such SQL
// reads (configSQLTables) and nothing else, so it cannot read Weft's own
// tables (kv_records, plugin_keys, configs, jobs), call pg_read_file, or
// write anything but the temporary tables of the statement that runs it.
// Statements that only read run in a read-only transaction that is rolled
// back. Weft makes the role at start when its login may (a superuser, or
// CREATEROLE), and makes its login a member so that it can SET LOCAL ROLE
// to it; a DBA can make it beforehand instead:
//
//	CREATE ROLE weft_config_sql NOLOGIN; GRANT weft_config_sql TO weft;
//
// Without the role (a login that may not make it), config SQL still runs
// in read-only transactions where it only reads, and Weft warns at start.

// configSQLTables are what config SQL may read: the log and its customer
// view, the stitching result, attributes and their pivoted view, the
// context values, segment memberships and per-event values, and the catalog. Weft's own statements around config
// SQL read the same (event_log for stitching rules and base).
var configSQLTables = []string{"event_log", "customer_events", "entity_events", "entities", "identifiers",
	"customer_attributes", "pivoted_customer_attributes", "context", "segment_members", "segment_event_values", "sources", "event_types"}

// roleName is the restricted role of a login: one per login, so that two
// Weft installations with their own logins in a cluster share no grants.
func roleName(login string) string {
	if len(login) <= 63-len("_config_sql") {
		return login + "_config_sql"
	}
	sum := md5.Sum([]byte(login))
	return "weft_" + hex.EncodeToString(sum[:8]) + "_config_sql"
}

// quoteIdent quotes an identifier for PostgreSQL.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sandbox is the restricted role and what was found about the login
// role at start.
type sandbox struct {
	role      string // quoted; "" when it could not be set up
	superuser bool   // Weft logs in as a superuser
	login     string
	// missing says why there is no role, for the warning.
	missing error
}

// setUpSandbox makes the restricted role if needed, makes the login role a
// member, and grants it exactly the reads of configSQLTables. A login that
// may not make the role or the membership gets a sandbox without a role
// (and a warning), not an error: the documented setup (a plain owner of
// the database) keeps starting.
func setUpSandbox(ctx context.Context, db *sql.DB) (*sandbox, error) {
	s := &sandbox{}
	if err := db.QueryRowContext(ctx, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&s.login, &s.superuser); err != nil {
		return nil, fmt.Errorf("read the login role: %w", err)
	}
	name := roleName(s.login)
	role := quoteIdent(name)
	howTo := fmt.Sprintf("as a superuser run: CREATE ROLE %s NOLOGIN; GRANT %s TO %s", role, role, quoteIdent(s.login))
	if err := ensureMember(ctx, db, name, role, s.login); err != nil {
		if !isCode(err, "42501") { // insufficient privilege
			return nil, err
		}
		s.missing = fmt.Errorf("%w (%s)", err, howTo)
		return s, nil
	}
	s.role = role
	stmts := []string{"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + role,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + role}
	for _, t := range configSQLTables {
		stmts = append(stmts, s.grantRead(t)...)
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("grant the config SQL role its reads: %s: %w", q, err)
		}
	}
	return s, nil
}

// ensureMember makes the role if it does not exist and the login a member
// of it. Processes starting at the same time may race to do either: a
// duplicate or a concurrent update is checked again.
func ensureMember(ctx context.Context, db *sql.DB, name, role, login string) error {
	for attempt := 0; ; attempt++ {
		var exists, member bool
		err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists)
		if err == nil && exists {
			err = db.QueryRowContext(ctx, "SELECT pg_has_role(current_user, $1, 'MEMBER')", name).Scan(&member)
		}
		switch {
		case err != nil:
			return fmt.Errorf("look for the config SQL role: %w", err)
		case exists && member:
			return nil
		case !exists:
			_, err = db.ExecContext(ctx, "CREATE ROLE "+role+" NOLOGIN")
		default:
			_, err = db.ExecContext(ctx, "GRANT "+role+" TO "+quoteIdent(login))
		}
		if err != nil && (attempt > 3 || !isCode(err, "42710", "23505", "XX000", "40001")) {
			return fmt.Errorf("set up the role config SQL runs as, %s: %w", name, err)
		}
	}
}

// grantRead lets the role read a table or view, if it exists (the pivoted
// view comes with the first attribute run).
func (s *sandbox) grantRead(table string) []string {
	return []string{`DO $$ BEGIN IF to_regclass('` + table + `') IS NOT NULL THEN GRANT SELECT ON ` + table + ` TO ` + s.role + `; END IF; END $$`}
}

func isCode(err error, codes ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	for _, c := range codes {
		if pe.Code == c {
			return true
		}
	}
	return false
}

// ConfineConfigSQL: the restricted role for the rest of the transaction,
// read only when the statement only reads.
func (b *backend) ConfineConfigSQL(readOnly bool) []string {
	var stmts []string
	if readOnly {
		stmts = append(stmts, "SET TRANSACTION READ ONLY")
	}
	if b.sandbox.role != "" {
		stmts = append(stmts, "SET LOCAL ROLE "+b.sandbox.role)
	}
	return stmts
}

// UnconfineConfigSQL: back to the login role.
func (b *backend) UnconfineConfigSQL() []string {
	if b.sandbox.role == "" {
		return nil
	}
	return []string{"SET LOCAL ROLE NONE"}
}

// GrantConfigSQLRead lets config SQL read a table or view Weft recreated.
func (b *backend) GrantConfigSQLRead(table string) []string {
	if b.sandbox.role == "" {
		return nil
	}
	return b.sandbox.grantRead(table)
}

// Warnings are what Weft logs at start: a superuser login, or no
// restricted role for config SQL.
func (b *backend) Warnings() []string {
	var w []string
	if b.sandbox.superuser {
		w = append(w, fmt.Sprintf("connected to PostgreSQL as the superuser %s: SQL from the config still runs as the restricted role %s, but everything else Weft runs may read and write any database of the cluster, read the server's files (pg_read_file, COPY FROM a file) and run programs (COPY TO PROGRAM); connect as a plain role that owns the database", b.sandbox.login, b.sandbox.role))
	}
	if b.sandbox.missing != nil {
		w = append(w, fmt.Sprintf("SQL from the config runs without a restricted role: it may read Weft's own tables (never a plain secret or signing key) and only reads are in read-only transactions; %v", b.sandbox.missing))
	}
	return w
}
