// Package fileexporttest fills a store with many profiles, set-based, for
// tests and benchmarks of file exports that need more than a handful.
package fileexporttest

import (
	"context"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Config is a weft.yaml that declares what Seed writes: the identifier
// category email and the attributes of Attributes, one of each data type
// but string.
const Config = `stitching:
  rules:
    - {identifier: email, event: crm/update, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
  - {id: visits, type: last, data_type: int, value: "payload->>'visits'"}
  - {id: vip, type: last, data_type: bool, value: "payload->>'vip'"}
  - {id: first_seen, type: first, data_type: date, value: "payload->>'day'"}
  - {id: last_seen, type: last, data_type: datetime, value: "payload->>'at'"}
`

// Attributes are the attributes Seed writes, as a YAML flow list.
const Attributes = "[spend, visits, vip, first_seen, last_seen]"

// Row is the CSV row of profile i (identifiers.email, then Attributes).
func Row(i int) string {
	return fmt.Sprintf("e%d,p%d@example.com,%d.25,%d,%t,2026-01-15,2026-02-01T10:00:00Z", i, i, i%1000, i%97, i%2 == 0)
}

// Seed writes n live profiles e1..en, each with an e-mail and a value of
// each attribute, as stitching and the attribute engine would have.
func Seed(ctx context.Context, db *store.DB, n int) error {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO entities (id, created_seq, created_at, modified_at) SELECT 'e' || CAST(i AS TEXT), i, $2, $2 FROM generate_series(1, $1) AS g(i)", []any{n, now}},
		{"INSERT INTO identifiers (category, value, entity_id, first_seq) SELECT 'email', 'p' || CAST(i AS TEXT) || '@example.com', 'e' || CAST(i AS TEXT), i FROM generate_series(1, $1) AS g(i)", []any{n}},
		{`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at)
		  SELECT 'e' || CAST(i AS TEXT), a.id, CASE a.id WHEN 'spend' THEN CAST(i % 1000 AS TEXT) || '.25' WHEN 'visits' THEN CAST(i % 97 AS TEXT)
		      WHEN 'vip' THEN CASE WHEN i % 2 = 0 THEN 'true' ELSE 'false' END WHEN 'first_seen' THEN '2026-01-15'
		      ELSE '2026-02-01 10:00:00+00' END, $2
		  FROM generate_series(1, $1) AS g(i),
		       (SELECT 'spend' AS id UNION ALL SELECT 'visits' UNION ALL SELECT 'vip' UNION ALL SELECT 'first_seen' UNION ALL SELECT 'last_seen') a`, []any{n, now}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("seed profiles: %w", err)
		}
	}
	return store.ComputeEntityKeys(ctx, db, db.Capabilities())
}
