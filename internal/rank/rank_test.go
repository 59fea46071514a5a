package rank_test

import (
	"context"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/promotedai/schema/generated/go/proto/delivery"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/rank"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestRank(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			f := newFixture(t, backend)
			r := f.ranker(t, nil)
			if st := r.Stats(); st.Contents != items || st.Users != users || st.UsersTruncated || len(st.MissingProperties) > 0 {
				t.Fatalf("stats: %+v", st)
			}
			ins := catalogue(t)
			got := r.Rank(feed("u01", ""), ins)
			t.Run("engagement", func(t *testing.T) { checkEngagement(t, got) })
			t.Run("personalization", func(t *testing.T) { checkPersonalization(t, got) })
			t.Run("new item is neutral", func(t *testing.T) { checkNewItem(t, got) })
			t.Run("disabled", func(t *testing.T) { checkDisabled(t, r, got) })
			t.Run("deterministic", func(t *testing.T) {
				if again := r.Rank(feed("u01", ""), ins); !reflect.DeepEqual(again, got) {
					t.Error("the same request ranked twice differs")
				}
				if other := f.ranker(t, nil).Rank(feed("u01", ""), ins); !reflect.DeepEqual(other, got) {
					t.Error("a second ranker over the same store ranks differently")
				}
			})
			t.Run("anonymous id finds the same profile", func(t *testing.T) {
				if anon := r.Rank(feed("", "a01"), ins); !reflect.DeepEqual(anon, got) {
					t.Error("anonUserId a01 ranks differently from userId u01")
				}
			})
			t.Run("byte cap", func(t *testing.T) { checkCap(t, f, r.Stats()) })
			t.Run("unpublished property", func(t *testing.T) { checkMissing(t, f) })
			t.Run("incremental", func(t *testing.T) { checkIncremental(t, f, r, ins) })
			t.Run("run refreshes in the background", func(t *testing.T) { checkRun(t, f) })
		})
	}
}

// checkEngagement: among insertions whose other parts are equal, the one
// with more clicks per impression ranks higher.
func checkEngagement(t *testing.T, got []rank.Scored) {
	pos, sc := positions(got), byIndex(got)
	for a := range items {
		for b := range items {
			if clicks(a) <= clicks(b) || sc[a].Parts.Personalization != sc[b].Parts.Personalization {
				continue
			}
			if sc[a].Parts.Engagement <= sc[b].Parts.Engagement || pos[a] > pos[b] {
				t.Errorf("c%02d (%d clicks) at %d with %+v, c%02d (%d clicks) at %d with %+v",
					a, clicks(a), pos[a], sc[a].Parts, b, clicks(b), pos[b], sc[b].Parts)
			}
		}
	}
}

// checkPersonalization: u01's favourite category is games; its latest tier
// is silver (gold in the older run); its price affinity 2 scales the books'
// discount of 0.1. A games item outranks the toys item (also silver, no
// discount) of the same engagement.
func checkPersonalization(t *testing.T, got []rank.Scored) {
	pos, sc := positions(got), byIndex(got)
	for i := range items {
		want := map[string]float64{"favorite": 0, "tier": 0, "affinity": 0}
		if categories[i%4] == "games" {
			want["favorite"] = 0.5
		}
		if i%2 == 1 {
			want["tier"] = 0.25
		}
		if categories[i%4] == "books" {
			want["affinity"] = 2 * 0.1
		}
		rules := map[string]float64{}
		for _, rs := range sc[i].Parts.Rules {
			rules[rs.Rule] = rs.Score
		}
		if !reflect.DeepEqual(rules, want) {
			t.Errorf("c%02d: rules %v, want %v", i, rules, want)
		}
		if categories[i%4] == "games" && pos[i] > pos[i+2] {
			t.Errorf("games item c%02d at %d below toys item c%02d at %d", i, pos[i], i+2, pos[i+2])
		}
	}
}

// checkNewItem: n00 has never been shown: its engagement is the neutral
// 0.5, above c00's, which was shown as often as any and clicked least.
func checkNewItem(t *testing.T, got []rank.Scored) {
	pos, sc := positions(got), byIndex(got)
	n00 := items
	if e := sc[n00].Parts.Engagement; e != 0.5 {
		t.Errorf("new item engagement %v, want 0.5", e)
	}
	if sc[0].Parts.Engagement >= 0.5 || pos[n00] > pos[0] {
		t.Errorf("new item at %d (%+v) below c00 at %d (%+v)", pos[n00], sc[n00].Parts, pos[0], sc[0].Parts)
	}
}

// checkDisabled: with disablePersonalization the rules give nothing, the
// ranking is that of an unknown user, and engagement is as before.
func checkDisabled(t *testing.T, r *rank.Ranker, personal []rank.Scored) {
	ins := catalogue(t)
	req := feed("u01", "")
	req.DisablePersonalization = true
	got := r.Rank(req, ins)
	before := byIndex(personal)
	for _, s := range got {
		if s.Parts.Personalization != 0 || len(s.Parts.Rules) != 0 {
			t.Errorf("%d: personalized with personalization disabled: %+v", s.Index, s.Parts)
		}
		if s.Parts.Engagement != before[s.Index].Parts.Engagement {
			t.Errorf("%d: engagement %v, was %v", s.Index, s.Parts.Engagement, before[s.Index].Parts.Engagement)
		}
	}
	if unknown := r.Rank(feed("nobody", ""), ins); !reflect.DeepEqual(got, unknown) {
		t.Error("disabled personalization ranks differently from an unknown user")
	}
	checkEngagement(t, got)
	sc := byIndex(got)
	if sc[1].Score != sc[3].Score { // games c01 and toys c03: same engagement, no boost now
		t.Errorf("games item c01 scores %v, toys item c03 %v", sc[1].Score, sc[3].Score)
	}
}

// checkCap: a cap that holds the content statistics and about half the
// users keeps fewer users, the most recently modified first, and stays
// under the cap; ranking still works.
func checkCap(t *testing.T, f *fixture, full rank.Stats) {
	perUser := (full.Bytes - contentBytes(t, f)) / users
	limit := contentBytes(t, f) + perUser*users/2
	r := f.ranker(t, func(c *config.Config) { c.Delivery.MemoryBytes = limit })
	st := r.Stats()
	if st.Users == 0 || st.Users >= users || !st.UsersTruncated || st.Bytes > limit || st.Contents != items {
		t.Fatalf("cap %d: %+v", limit, st)
	}
	if got := r.Rank(feed("u01", ""), catalogue(t)); len(got) != items+1 {
		t.Fatalf("ranked %d of %d", len(got), items+1)
	}
	// The action types seen (here NAVIGATE, LIKE) are always kept.
	tiny := f.ranker(t, func(c *config.Config) { c.Delivery.MemoryBytes = 1 })
	if st := tiny.Stats(); st.Users != 0 || st.Contents != 0 || st.Bytes > 200 || st.ContentsDropped != items {
		t.Fatalf("cap 1: %+v", st)
	}
	got := tiny.Rank(feed("u01", ""), catalogue(t))
	for _, s := range got {
		if s.Parts.Engagement != 0.5 || s.Parts.Personalization != 0 {
			t.Fatalf("with nothing in memory: %+v", s.Parts)
		}
	}
}

// contentBytes is what the content statistics alone take: the bytes of a
// ranker whose rules reference nothing and whose user categories hold
// no identifiers.
func contentBytes(t *testing.T, f *fixture) int64 {
	r := f.ranker(t, func(c *config.Config) {
		c.Delivery.UseCases = nil
		c.Delivery.Identifiers = rank.Identifiers{UserID: "none", AnonUserID: "none"}
	})
	return r.Stats().Bytes
}

// checkIncremental: events logged after a refresh are counted by the next
// one, which then ranks exactly as a ranker that read everything at once.
func checkIncremental(t *testing.T, f *fixture, r *rank.Ranker, ins []*delivery.Insertion) {
	before := r.Stats()
	var lines []string
	for n := range 40 {
		lines = append(lines, f.action("c00", n%users, "PURCHASE"))
	}
	lines = append(lines, f.impression("n00", 3))
	dbtest.Ingest(t, f.db, lines...)
	e0 := byIndex(r.Rank(feed("u01", ""), ins))[0].Parts.Engagement
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := r.Stats()
	if after.Watermark <= before.Watermark || after.Contents != items+1 {
		t.Errorf("before %+v, after %+v", before, after)
	}
	got := r.Rank(feed("u01", ""), ins)
	if e1 := byIndex(got)[0].Parts.Engagement; e1 <= e0 {
		t.Errorf("c00's engagement %v after 40 purchases, was %v", e1, e0)
	}
	if fresh := f.ranker(t, nil).Rank(feed("u01", ""), ins); !reflect.DeepEqual(fresh, got) {
		t.Errorf("incremental ranking differs from a full read:\n%v\n%v", got, fresh)
	}
}

// checkRun: Run refreshes at once and then every delivery.refresh, and
// stops when its context ends.
func checkRun(t *testing.T, f *fixture) {
	r := rank.New(rank.Options{DB: f.db, Delivery: func(context.Context) (*rank.Delivery, error) {
		d := f.cfg.Delivery
		d.Refresh = "20ms"
		return &d, nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, ok func(rank.Stats) bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !ok(r.Stats()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: stats %+v", what, r.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("first refresh", func(s rank.Stats) bool { return s.Watermark > 0 })
	first := r.Stats().Watermark
	dbtest.Ingest(t, f.db, f.impression("n01", 0))
	waitFor("refresh after new events", func(s rank.Stats) bool { return s.Watermark > first })
}

// checkMissing: a rule naming a property no run published gives 0 and is
// reported; the other rules still apply.
func checkMissing(t *testing.T, f *fixture) {
	r := f.ranker(t, func(c *config.Config) {
		uc := c.Delivery.UseCases["FEED"]
		uc.Rules = append(slices.Clone(uc.Rules), rank.Rule{Name: "nope", Item: "tier", Property: "scores/nope"})
		c.Delivery.UseCases = map[string]rank.UseCase{"FEED": uc}
	})
	if st := r.Stats(); !reflect.DeepEqual(st.MissingProperties, []string{"scores/nope"}) {
		t.Errorf("missing properties %v", st.MissingProperties)
	}
	s := byIndex(r.Rank(feed("u01", ""), catalogue(t)))[1] // games, silver
	if len(s.Parts.Rules) != 4 || s.Parts.Rules[3].Score != 0 || s.Parts.Personalization != 0.75 {
		t.Errorf("parts %+v", s.Parts)
	}
}
