package object

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// UpdatedAtColumn is the column every table has besides its fields: when
// the record was last upserted. Field names start with a letter, so it
// cannot clash with one.
const UpdatedAtColumn = "_updated_at"

// columnTypes are the SQL types of the field types.
var columnTypes = map[string]string{
	FieldString:    "TEXT",
	FieldNumber:    "DOUBLE PRECISION",
	FieldTimestamp: "TIMESTAMPTZ",
	FieldBoolean:   "BOOLEAN",
}

// fieldTypeOf maps a column's data_type in information_schema, as either
// engine spells it, back to a field type.
func fieldTypeOf(dataType string) string {
	switch strings.ToLower(dataType) {
	case "text", "varchar", "character varying":
		return FieldString
	case "double precision", "double", "float8":
		return FieldNumber
	case "timestamp with time zone", "timestamptz":
		return FieldTimestamp
	case "boolean", "bool":
		return FieldBoolean
	}
	return dataType
}

// existingTable is a table of the objects schema as the database has it.
type existingTable struct {
	columns map[string]string // field type (or SQL type) by column
	primary []string          // in key order
}

// existingTables reads the objects schema's tables.
func (s *Store) existingTables(ctx context.Context) (map[string]*existingTable, error) {
	out := map[string]*existingTable{}
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, SchemaName)
	if err != nil {
		return nil, fmt.Errorf("read object tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tbl, col, typ string
		if err := rows.Scan(&tbl, &col, &typ); err != nil {
			return nil, fmt.Errorf("read object tables: %w", err)
		}
		if out[tbl] == nil {
			out[tbl] = &existingTable{columns: map[string]string{}}
		}
		out[tbl].columns[col] = fieldTypeOf(typ)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read object tables: %w", err)
	}
	keys, err := s.db.QueryContext(ctx, `SELECT k.table_name, k.column_name
		FROM information_schema.table_constraints c
		JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema
			AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name
		WHERE c.table_schema = $1 AND c.constraint_type = 'PRIMARY KEY'
		ORDER BY k.table_name, k.ordinal_position`, SchemaName)
	if err != nil {
		return nil, fmt.Errorf("read object keys: %w", err)
	}
	defer keys.Close()
	for keys.Next() {
		var tbl, col string
		if err := keys.Scan(&tbl, &col); err != nil {
			return nil, fmt.Errorf("read object keys: %w", err)
		}
		if t := out[tbl]; t != nil {
			t.primary = append(t.primary, col)
		}
	}
	return out, keys.Err()
}

// Plan returns the DDL that makes the tables hold the schema's types: a
// table for each new type, a column for each new field. A table that
// cannot hold its type (a field of another type, another primary key) is
// a *DefinitionError: Weft never drops or converts stored data; see the
// package doc.
func (s *Store) Plan(ctx context.Context, sch *Schema) ([]string, error) {
	existing, err := s.existingTables(ctx)
	if err != nil {
		return nil, err
	}
	var ddl []string
	for i := range sch.types {
		t := &sch.types[i]
		et := existing[t.Name]
		if et == nil {
			ddl = append(ddl, createTable(t))
			continue
		}
		stmts, err := alterTable(i, t, et)
		if err != nil {
			return nil, err
		}
		ddl = append(ddl, stmts...)
	}
	return ddl, nil
}

// Sync runs Plan's DDL in one transaction: on error nothing changes.
func (s *Store) Sync(ctx context.Context, sch *Schema) error {
	defer s.lockWrites()()
	ddl, err := s.Plan(ctx, sch)
	if err != nil || len(ddl) == 0 {
		return err
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, stmt := range append([]string{"CREATE SCHEMA IF NOT EXISTS " + SchemaName}, ddl...) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("object tables: %s: %w", stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("object tables: %w", err)
	}
	return nil
}

func createTable(t *Type) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", tableName(t.Name))
	var key []string
	for _, f := range t.Fields {
		fmt.Fprintf(&b, "%s %s", ident(f.Name), columnTypes[f.Type])
		if f.Primary {
			b.WriteString(" NOT NULL")
			key = append(key, f.Name)
		}
		b.WriteString(", ")
	}
	fmt.Fprintf(&b, "%s TIMESTAMPTZ NOT NULL, PRIMARY KEY (%s))", UpdatedAtColumn, joinIdents(key))
	return b.String()
}

func alterTable(i int, t *Type, et *existingTable) ([]string, error) {
	fail := func(j int, format string, args ...any) error {
		e := &DefinitionError{Type: i, Field: j, Name: t.Name, Err: fmt.Errorf(format, args...)}
		if j >= 0 {
			e.Name = t.Fields[j].Name
		}
		return e
	}
	var ddl []string
	var key []string
	for j, f := range t.Fields {
		if f.Primary {
			key = append(key, f.Name)
		}
		have, ok := et.columns[f.Name]
		switch {
		case !ok && f.Primary:
			return nil, fail(j, "a new primary field: the table %s has the primary key (%s); change the key under a new type name, or drop the table yourself (its data goes with it)",
				SchemaName+"."+t.Name, strings.Join(et.primary, ", "))
		case !ok:
			ddl = append(ddl, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", tableName(t.Name), ident(f.Name), columnTypes[f.Type]))
		case have != f.Type:
			return nil, fail(j, "the type changed from %s to %s, but the column %s.%s holds the old type: declare the field under a new name, or drop the column yourself (its data goes with it)",
				have, f.Type, SchemaName+"."+t.Name, f.Name)
		case f.Primary != slices.Contains(et.primary, f.Name):
			return nil, fail(j, "primary changed to %t, but the table %s has the primary key (%s): change the key under a new type name, or drop the table yourself (its data goes with it)",
				f.Primary, SchemaName+"."+t.Name, strings.Join(et.primary, ", "))
		}
	}
	for _, col := range et.primary {
		if !slices.Contains(key, col) {
			return nil, fail(-1, "the primary field %s is gone, but the table %s has the primary key (%s): change the key under a new type name, or drop the table yourself (its data goes with it)",
				col, SchemaName+"."+t.Name, strings.Join(et.primary, ", "))
		}
	}
	if _, ok := et.columns[UpdatedAtColumn]; !ok {
		ddl = append(ddl, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s TIMESTAMPTZ", tableName(t.Name), UpdatedAtColumn))
	}
	return ddl, nil
}
