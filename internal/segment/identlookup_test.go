package segment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	. "github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestMembershipEventIdentifiers: the events of a run's changes carry the
// entity's oldest identifier (by first_seq, then category and value), in
// a full run and in incremental ones (their few changes' entity keys
// named as constants, on DuckDB).
func TestMembershipEventIdentifiers(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend, testYAML)
			if q := f.db.Query("SegmentIdentFill"); strings.Count(q, IdentFilter) != 1 {
				t.Fatalf("SegmentIdentFill has not one %q, where the lookup adds the entity keys:\n%s", IdentFilter, q)
			}
			f.people(40)
			for round := 1; round <= 3; round++ {
				var before int64
				if err := f.db.QueryRowContext(context.Background(), "SELECT coalesce(max(seq), 0) FROM event_log").Scan(&before); err != nil {
					t.Fatal(err)
				}
				if round > 1 {
					f.change(round)
					f.pipeline()
				}
				res := f.run(fmt.Sprintf("run-%d", round), RunOptions{})
				if res.Segments[0].Full != (round == 1) {
					t.Fatalf("round %d: full %v", round, res.Segments[0].Full)
				}
				wrong := f.count(`SELECT count(*) FROM event_log ev
					WHERE ev.source_id = 'weft' AND ev.seq > $1 AND coalesce((ev.payload->>'identifier_category'), '') || ':' || coalesce((ev.payload->>'identifier_value'), '') <>
					  coalesce((SELECT i.category || ':' || i.value FROM identifiers i WHERE i.entity_id = (ev.payload->>'entity_id')
					   ORDER BY i.first_seq, i.category, i.value LIMIT 1), ':')`, before)
				n := f.count("SELECT count(*) FROM event_log WHERE source_id = 'weft' AND seq > $1", before)
				if wrong != 0 || n == 0 {
					t.Errorf("round %d: %d of %d membership events without the entity's oldest identifier", round, wrong, n)
				}
			}
		})
	}
}
