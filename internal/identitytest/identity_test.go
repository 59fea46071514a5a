package identitytest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) {
	runKilledChild()
	os.Exit(pgtest.Main(m))
}

// stitching parses the stitching section of a weft.yaml.
func stitching(yaml []byte) stitch.Config {
	cfg, err := config.Parse(yaml)
	if err != nil {
		panic(err)
	}
	return cfg.Stitching
}

var (
	demoConfig      = stitching(demo.Config)
	householdConfig = stitching(demo.HouseholdConfig)
)

func newEngine(t testing.TB, s *store.DB, cfg stitch.Config) *stitch.Engine {
	t.Helper()
	eng, err := stitch.New(s, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// lines are the events as NDJSON records.
func lines(events []demo.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e.AppendJSON(nil))
	}
	return out
}

// ingest sends the records in parts of at most 20,000: the decoder holds
// a whole part in memory.
func ingest(t testing.TB, s store.Store, records []string) {
	t.Helper()
	for len(records) > 0 {
		n := min(len(records), 20000)
		dbtest.Ingest(t, s, records[:n]...)
		records = records[n:]
	}
}

// entityOf reads the partition: event id -> entity id. Two stores hold the
// same entities with the same ids exactly when their maps are equal.
func entityOf(t testing.TB, s *store.DB) map[string]string {
	t.Helper()
	rows, err := s.QueryContext(context.Background(),
		`SELECT e.id, ee.entity_id FROM entity_events ee JOIN event_log e ON e.seq = ee.event_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, ent string
		if err := rows.Scan(&id, &ent); err != nil {
			t.Fatal(err)
		}
		out[id] = ent
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// diff describes how partition b differs from a ("" if equal): how many
// events sit in another entity than in a, with one example, and how many
// of those only because their entity has another id.
func diff(a, b map[string]string) string {
	moved, example := 0, ""
	for id, ent := range a {
		if b[id] != ent {
			if moved == 0 {
				example = fmt.Sprintf("%s in %s, not %q", id, ent, b[id])
			}
			moved++
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			if moved == 0 {
				example = id + " only in the second"
			}
			moved++
		}
	}
	if moved == 0 {
		return ""
	}
	renamed := moved - regrouped(a, b)
	return fmt.Sprintf("%d events in another entity (e.g. %s); %d of them in the same group of events under another id", moved, example, renamed)
}

// regrouped counts the events whose group of events (ids aside) differs
// between a and b: each group is named by its smallest event id.
func regrouped(a, b map[string]string) int {
	ca, cb := canonical(a), canonical(b)
	n := 0
	for id, g := range ca {
		if cb[id] != g {
			n++
		}
	}
	for id := range cb {
		if _, ok := ca[id]; !ok {
			n++
		}
	}
	return n
}

// canonical names every event's entity by the entity's smallest event id.
func canonical(entityOf map[string]string) map[string]string {
	least := map[string]string{}
	for id, ent := range entityOf {
		if l, ok := least[ent]; !ok || id < l {
			least[ent] = id
		}
	}
	out := make(map[string]string, len(entityOf))
	for id, ent := range entityOf {
		out[id] = least[ent]
	}
	return out
}

// md5Hex is an entity id: the MD5 of its first event's id.
func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// shuffled returns a shuffled copy of records.
func shuffled(r *rand.Rand, records []string) []string {
	out := append([]string(nil), records...)
	r.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}
