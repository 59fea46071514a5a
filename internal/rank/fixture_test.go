package rank_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/promotedai/schema/generated/go/proto/common"
	"github.com/promotedai/schema/generated/go/proto/delivery"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/rank"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// weftYAML stitches delivery events by their userInfo ids and shop
// purchases by user id, calculates each user's most frequent category,
// and ranks FEED with three rules: the favourite category (an attribute),
// the tier of the latest run of plugin scores (a property by
// <plugin>/<name>) and a price affinity that scales the offer's discount.
const weftYAML = `
stitching:
  rules:
    - {identifier: user_id, event: delivery/impression, value_expression: "payload->'userInfo'->>'userId'"}
    - {identifier: anon_user_id, event: delivery/impression, value_expression: "payload->'userInfo'->>'anonUserId'"}
    - {identifier: user_id, event: delivery/action, value_expression: "payload->'userInfo'->>'userId'"}
    - {identifier: anon_user_id, event: delivery/action, value_expression: "payload->'userInfo'->>'anonUserId'"}
    - {identifier: user_id, event: shop/purchase, value_expression: "payload->>'user'"}
attributes:
  - {id: favorite_category, type: most_frequent, sources: [shop], types: [purchase], value: "payload->>'category'"}
delivery:
  use_cases:
    FEED:
      rules:
        - {name: favorite, item: category, attribute: favorite_category, weight: 0.5}
        - {name: tier, item: tier, property: scores/tier, weight: 0.25}
        - {name: affinity, item: offer.discount, property: scores/price_affinity, match: scale}
`

// The generated catalogue: items c00..c23 in four categories; item i has
// 100 impressions and 4+4*(i/4) clicks, so engagement grows with i/4 and
// every category has one item of each level. Users u00..u09 (anonymous
// ids a00..a09) buy mostly in categories[k%4].
var categories = []string{"books", "games", "music", "toys"}

const (
	items       = 24
	users       = 10
	impressions = 100
)

func clicks(item int) int { return 4 + 4*(item/4) }

type fixture struct {
	db  *store.DB
	cfg *config.Config
	seq int // event ids
}

func newFixture(t testing.TB, backend string) *fixture {
	t.Helper()
	cfg, err := config.Parse([]byte(weftYAML))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: dbtest.Open(t, backend), cfg: cfg}
	var lines []string
	for i := range items {
		for n := range impressions {
			lines = append(lines, f.impression(fmt.Sprintf("c%02d", i), n%users))
		}
		for n := range clicks(i) {
			action := "NAVIGATE"
			if n%4 == 3 {
				action = "LIKE"
			}
			lines = append(lines, f.action(fmt.Sprintf("c%02d", i), n%users, action))
		}
	}
	for k := range users {
		for n := range 4 {
			cat := categories[k%4]
			if n == 3 {
				cat = categories[(k+1)%4]
			}
			lines = append(lines, f.event("shop", "purchase", fmt.Sprintf(`{"user":"u%02d","category":%q}`, k, cat)))
		}
	}
	dbtest.Ingest(t, f.db, lines...)
	f.process(t, backend)
	f.publishScores(t)
	return f
}

func (f *fixture) event(source, typ, payload string) string {
	f.seq++
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(f.seq) * time.Second)
	return fmt.Sprintf(`{"id":"e%06d","source_id":%q,"type":%q,"version":"1","event_time":%q,"payload":%s}`,
		f.seq, source, typ, at.Format(time.RFC3339), payload)
}

// impression and action are in the Metrics API's format.
func (f *fixture) impression(content string, user int) string {
	return f.event("delivery", "impression", fmt.Sprintf(
		`{"impressionId":"i%d","insertionId":"x","contentId":%q,"userInfo":{"userId":"u%02d","anonUserId":"a%02d"},"timing":{"clientLogTimestamp":"1795347240269"}}`,
		f.seq, content, user, user))
}

func (f *fixture) action(content string, user int, actionType string) string {
	return f.event("delivery", "action", fmt.Sprintf(
		`{"actionId":"a%d","insertionId":"x","contentId":%q,"actionType":%q,"userInfo":{"userId":"u%02d","anonUserId":"a%02d"}}`,
		f.seq, content, actionType, user, user))
}

// process stitches and calculates the attributes.
func (f *fixture) process(t testing.TB, backend string) {
	t.Helper()
	ctx := context.Background()
	se, err := stitch.New(f.db, f.cfg.Stitching, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := se.Run(ctx, 0); err != nil {
		t.Fatal(err)
	}
	ae, err := attr.New(f.db, f.cfg.Attributes, f.cfg.Context, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ae.Run(ctx, attr.RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

// publishScores publishes two runs of plugin scores: u01's tier is gold
// in the first and silver in the later one; its price affinity is 2.
func (f *fixture) publishScores(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	clock := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	svc, err := plugin.Open(ctx, f.db, plugin.Options{BaseURL: "http://127.0.0.1:1", StorageURL: "file://" + t.TempDir(),
		Now: func() time.Time { clock = clock.Add(time.Minute); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	u01, err := f.db.EntityFind(ctx, "user_id", "u01")
	if err != nil {
		t.Fatal(err)
	}
	for i, tier := range []string{"gold", "silver"} {
		data, err := plugin.ParseBatchData(strings.NewReader(fmt.Sprintf(
			`{"properties":["tier","price_affinity"],"updates":[[%q,%q,2]]}`, u01, tier)))
		if err != nil {
			t.Fatal(err)
		}
		run := fmt.Sprintf("run%d", i)
		if _, err := svc.Stage(ctx, run, 0, data); err != nil {
			t.Fatal(err)
		}
		started := time.Date(2026, 3, 2, i, 0, 0, 0, time.UTC)
		if _, err := svc.Publish(ctx, plugin.PublishParams{Plugin: "scores", Run: run, Started: started, Properties: data.Properties}); err != nil {
			t.Fatal(err)
		}
	}
}

// ranker returns a refreshed ranker of the fixture's config, changed by edit.
func (f *fixture) ranker(t testing.TB, edit func(*config.Config)) *rank.Ranker {
	t.Helper()
	cfg := *f.cfg
	if edit != nil {
		edit(&cfg)
	}
	r := rank.New(rank.Options{DB: f.db, Delivery: func(context.Context) (*rank.Delivery, error) { return &cfg.Delivery, nil },
		Logger: slog.New(slog.NewTextHandler(testLog{t}, nil))})
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// testLog writes log lines through t.Log.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// insertion is content id with its category, tier (gold for even items,
// silver for odd ones) and offer.discount (0.1 for books); every
// insertion has the same retrieval score, so the prior is equal.
func insertion(t testing.TB, item int, id string) *delivery.Insertion {
	t.Helper()
	discount := 0.0
	if categories[item%4] == "books" {
		discount = 0.1
	}
	tier := "gold"
	if item%2 == 1 {
		tier = "silver"
	}
	props, err := structpb.NewStruct(map[string]any{"category": categories[item%4], "tier": tier,
		"offer": map[string]any{"discount": discount}})
	if err != nil {
		t.Fatal(err)
	}
	score := float32(1)
	return &delivery.Insertion{ContentId: id, RetrievalScore: &score, Properties: &common.Properties{StructField: &common.Properties_Struct{Struct: props}}}
}

// catalogue is every item, then a new item "n00" of category books
// (item 0's properties) that has never been shown.
func catalogue(t testing.TB) []*delivery.Insertion {
	var ins []*delivery.Insertion
	for i := range items {
		ins = append(ins, insertion(t, i, fmt.Sprintf("c%02d", i)))
	}
	return append(ins, insertion(t, 0, "n00"))
}

func feed(userID, anonID string) *delivery.Request {
	return &delivery.Request{UseCase: delivery.UseCase_FEED, UserInfo: &common.UserInfo{UserId: userID, AnonUserId: anonID}}
}

// positions maps an insertion index to its place in the ranking.
func positions(s []rank.Scored) map[int]int {
	out := map[int]int{}
	for p, x := range s {
		out[x.Index] = p
	}
	return out
}

// byIndex maps an insertion index to its score.
func byIndex(s []rank.Scored) map[int]rank.Scored {
	out := map[int]rank.Scored{}
	for _, x := range s {
		out[x.Index] = x
	}
	return out
}
