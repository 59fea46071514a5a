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
// a full run and in incremental ones (read from the candidates' copy of
// their identifiers), whatever categories the conditions read.
func TestMembershipEventIdentifiers(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) { testEventIdentifiers(t, backend, testYAML) })
		// Segments that read no identifier: an incremental run's lookup
		// still finds every category's (the candidates' copy keeps them).
		t.Run(backend+"/no-identifier-read", func(t *testing.T) {
			testEventIdentifiers(t, backend, testYAML[:strings.Index(testYAML, "segments:")]+`segments:
  - {id: s_gt, condition: {attribute: orders, op: ">", value: 2}}
  - {id: s_any, condition: {any: [{attribute: orders, op: ">=", value: 3}, {event: web/page_view, last: 10d, count: {op: ">=", value: 1}}]}}
  - {id: s_count_zero, condition: {event: shop/purchase, last: 14d, count: {op: "<", value: 1}}}
`)
		})
	}
}

func testEventIdentifiers(t *testing.T, backend, yaml string) {
	f := newFixture(t, backend, yaml)
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
		// Every change of an entity with an identifier has its event:
		// a lookup that missed one (an incremental run reads the
		// candidates' copy) would drop it.
		want := f.count(`SELECT count(*) FROM segment_changes c WHERE c.run_id = $1
			AND EXISTS (SELECT 1 FROM identifiers i WHERE i.entity_id = c.entity_id)`, fmt.Sprintf("run-%d", round))
		if n != want {
			t.Errorf("round %d: %d membership events, %d changes of entities with identifiers", round, n, want)
		}
	}
}
