package api_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/store"
)

// segmentsYAML has three segments over a spend attribute: segment
// memberships and runs are inserted by the tests, as the segments job
// would write them.
const segmentsYAML = `stitching:
  rules:
    - {identifier: email, event: web/purchase, value_expression: "payload->>'email'"}
attributes:
  - {id: spend, type: sum, value: "(payload->>'total')::numeric"}
  - {id: email_address, type: most_frequent, value: "payload->>'email'"}
  - {id: orders, type: num_of_unique, value: "payload->>'total'"}
segments:
  - id: big_spenders
    name: Big spenders
    description: Spent 100 or more
    condition: {attribute: spend, op: ">=", value: 100}
  - id: buyers
    condition: {attribute: spend, op: ">", value: 0}
  - id: fresh
    condition: {attribute: spend, op: "<", value: 1}
`

// segmentFixture is a server with five people, p1 to p5, who spent
// 150, 20, 300, 5 and 0: big_spenders holds p1 and p3, buyers p1 to p4
// (entered a minute apart), fresh has no run yet; p1 is also a member of
// retired, a segment no longer in the config.
type segmentFixture struct {
	*testServer
	ids     map[string]string // person → entity id
	entered map[string]time.Time
}

func newSegmentFixture(t *testing.T, backend string) *segmentFixture {
	t.Helper()
	return newSegmentFixtureYAML(t, backend, segmentsYAML)
}

// newSegmentFixtureYAML is newSegmentFixture with another weft.yaml that
// has the segments of segmentsYAML.
func newSegmentFixtureYAML(t testing.TB, backend, yaml string) *segmentFixture {
	t.Helper()
	return segmentFixtureOn(t, newServer(t, backend, api.Config{}), yaml)
}

// segmentFixtureOn is newSegmentFixtureYAML on a server the test made.
func segmentFixtureOn(t testing.TB, s *testServer, yaml string) *segmentFixture {
	t.Helper()
	if r := s.do(t, "PUT", "/v1/config", nil, []byte(yaml)); r.status != 200 {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	var lines []string
	for i, total := range []int{150, 20, 300, 5, 0} {
		lines = append(lines, rec(fmt.Sprintf("e%d", i), "purchase", i, fmt.Sprintf(`{"email":"p%d@example.com","total":%d}`, i+1, total)))
	}
	if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(lines, "\n"))); r.status != 200 {
		t.Fatalf("ingest: %s", r.body)
	}
	for _, path := range []string{"/v1/stitching/run", "/v1/attributes/run"} {
		if r := s.do(t, "POST", path, nil, nil); r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
	f := &segmentFixture{testServer: s, ids: map[string]string{}, entered: map[string]time.Time{}}
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		p := fmt.Sprintf("p%d", i)
		id, err := s.store.EntityFind(ctx, "email", p+"@example.com")
		if err != nil {
			t.Fatal(err)
		}
		f.ids[p] = id
	}
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	member := func(seg, p string, at time.Time) {
		t.Helper()
		if _, err := s.store.ExecContext(ctx, `INSERT INTO segment_members VALUES ($1, $2, $3)`, seg, f.ids[p], at); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range []string{"p1", "p2", "p3", "p4"} {
		f.entered[p] = base.Add(time.Duration(i) * time.Minute)
		member("buyers", p, f.entered[p])
	}
	member("big_spenders", "p1", base)
	member("big_spenders", "p3", base)
	member("retired", "p1", base)
	for _, r := range []struct {
		seg, run    string
		full        bool
		size, in    int
		status, err string
		at          time.Time
	}{
		{"big_spenders", "r1", true, 2, 2, "ok", "", base},
		{"big_spenders", "r2", false, 2, 0, "error", "the where of big_spenders failed", base.Add(time.Hour)},
		{"buyers", "r1", true, 4, 4, "ok", "", base},
		{"retired", "r1", true, 1, 1, "ok", "", base},
	} {
		var errText any
		if r.err != "" {
			errText = r.err
		}
		if _, err := s.store.ExecContext(ctx, `INSERT INTO segment_runs VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 12.5, $8)`,
			r.seg, r.run, r.full, r.size, r.in, r.status, errText, r.at); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

type segmentAnswer struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Condition   map[string]any     `json:"condition"`
	Size        int64              `json:"size"`
	Status      string             `json:"status"`
	LastRun     *store.SegmentRun  `json:"last_run"`
	History     []store.SegmentRun `json:"history"`
}

func TestSegmentsList(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newSegmentFixture(t, backend)
			r := f.do(t, "GET", "/v1/segments", nil, nil)
			list := decode[struct{ Segments []segmentAnswer }](t, r)
			if r.status != 200 || len(list.Segments) != 3 {
				t.Fatalf("GET /v1/segments: %d %s", r.status, r.body)
			}
			big, buyers, fresh := list.Segments[0], list.Segments[1], list.Segments[2]
			if big.ID != "big_spenders" || big.Name != "Big spenders" || big.Description != "Spent 100 or more" || big.Size != 2 ||
				big.Status != "error" || big.LastRun == nil || big.LastRun.RunID != "r2" || big.LastRun.Error != "the where of big_spenders failed" ||
				big.LastRun.FullRun || big.History != nil {
				t.Errorf("big_spenders: %s", r.body)
			}
			if want := map[string]any{"attribute": "spend", "op": ">=", "value": 100.0}; !reflect.DeepEqual(big.Condition, want) {
				t.Errorf("big_spenders condition %v, want %v", big.Condition, want)
			}
			if buyers.ID != "buyers" || buyers.Size != 4 || buyers.Status != "ok" || buyers.LastRun == nil || buyers.LastRun.RunID != "r1" ||
				!buyers.LastRun.FullRun || buyers.LastRun.Entered != 4 || buyers.LastRun.DurationMS != 12.5 {
				t.Errorf("buyers: %+v %+v", buyers, buyers.LastRun)
			}
			if fresh.ID != "fresh" || fresh.Size != 0 || fresh.Status != "pending" || fresh.LastRun != nil {
				t.Errorf("fresh: %+v", fresh)
			}
			if !strings.Contains(string(r.body), `"last_run":null`) {
				t.Errorf("a segment never run has no last_run null: %s", r.body)
			}
		})
	}
}

func TestSegmentGet(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newSegmentFixture(t, backend)
			r := f.do(t, "GET", "/v1/segments/big_spenders", nil, nil)
			got := decode[segmentAnswer](t, r)
			if r.status != 200 || got.ID != "big_spenders" || got.Size != 2 || got.Status != "error" || len(got.History) != 2 {
				t.Fatalf("GET big_spenders: %d %s", r.status, r.body)
			}
			base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			want := []store.SegmentRun{
				{RunID: "r2", FinishedAt: base.Add(time.Hour), Size: 2, DurationMS: 12.5, Status: "error", Error: "the where of big_spenders failed"},
				{RunID: "r1", FinishedAt: base, FullRun: true, Size: 2, Entered: 2, DurationMS: 12.5, Status: "ok"},
			}
			for i := range got.History {
				got.History[i].FinishedAt = got.History[i].FinishedAt.UTC()
			}
			if !reflect.DeepEqual(got.History, want) {
				t.Errorf("history %+v, want %+v", got.History, want)
			}
			if r := f.do(t, "GET", "/v1/segments/big_spenders?limit=1", nil, nil); len(decode[segmentAnswer](t, r).History) != 1 {
				t.Errorf("limit=1: %s", r.body)
			}
			// Before the first run: pending, an empty history (not absent).
			r = f.do(t, "GET", "/v1/segments/fresh", nil, nil)
			if got := decode[segmentAnswer](t, r); r.status != 200 || got.Status != "pending" || !strings.Contains(string(r.body), `"history":[]`) {
				t.Errorf("GET fresh: %d %s", r.status, r.body)
			}
			expectError(t, f.do(t, "GET", "/v1/segments/retired", nil, nil), 404, "not_found", `no segment "retired" in the config in force`)
			expectError(t, f.do(t, "GET", "/v1/segments/nope", nil, nil), 404, "not_found", `no segment "nope"`)
			for _, q := range []string{"limit=0", "limit=1001", "limit=x"} {
				expectError(t, f.do(t, "GET", "/v1/segments/big_spenders?"+q, nil, nil), 400, "bad_request", "limit must be an integer from 1 to 1000")
			}
		})
	}
}

type membersAnswer struct {
	Members []struct {
		EntityID   string         `json:"entity_id"`
		EnteredAt  time.Time      `json:"entered_at"`
		Attributes map[string]any `json:"attributes"`
	} `json:"members"`
	Next *string `json:"next"`
}

func TestSegmentMembers(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newSegmentFixture(t, backend)
			var want []string
			for _, p := range []string{"p1", "p2", "p3", "p4"} {
				want = append(want, f.ids[p])
			}
			slices.Sort(want)
			byID := map[string]string{}
			for p, id := range f.ids {
				byID[id] = p
			}
			spend := map[string]float64{"p1": 150, "p2": 20, "p3": 300, "p4": 5}

			// Every page size, the last page exactly full or not: the
			// pages hold every member once, in entity id order, and only
			// a page with more after it has a next.
			for limit := 1; limit <= 5; limit++ {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > 5 {
						t.Fatalf("limit %d: paging does not end", limit)
					}
					r := f.do(t, "GET", fmt.Sprintf("/v1/segments/buyers/members?limit=%d&after=%s&attributes=spend,email_address", limit, after), nil, nil)
					page := decode[membersAnswer](t, r)
					if r.status != 200 || len(page.Members) > limit {
						t.Fatalf("limit %d after %q: %d %s", limit, after, r.status, r.body)
					}
					for _, m := range page.Members {
						p := byID[m.EntityID]
						got = append(got, m.EntityID)
						wantAttrs := map[string]any{"spend": spend[p], "email_address": p + "@example.com"}
						if !reflect.DeepEqual(m.Attributes, wantAttrs) || !m.EnteredAt.Equal(f.entered[p]) {
							t.Errorf("member %s: %+v, want %v entered %s", p, m, wantAttrs, f.entered[p])
						}
					}
					if page.Next == nil {
						break
					}
					if *page.Next != page.Members[len(page.Members)-1].EntityID {
						t.Fatalf("next %q is not the page's last member: %s", *page.Next, r.body)
					}
					after = *page.Next
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("limit %d: members %v, want %v", limit, got, want)
				}
			}

			// The default page; without attributes (or with none), an
			// empty object.
			for _, q := range []string{"", "?attributes="} {
				r := f.do(t, "GET", "/v1/segments/big_spenders/members"+q, nil, nil)
				page := decode[membersAnswer](t, r)
				if r.status != 200 || len(page.Members) != 2 || page.Next != nil || !strings.Contains(string(r.body), `"attributes":{}`) {
					t.Errorf("big_spenders members%s: %d %s", q, r.status, r.body)
				}
			}
			// The parameter repeated; values typed (an int here).
			r := f.do(t, "GET", "/v1/segments/buyers/members?attributes=orders&attributes=spend&limit=1", nil, nil)
			if page := decode[membersAnswer](t, r); len(page.Members) != 1 || page.Members[0].Attributes["orders"] != 1.0 || len(page.Members[0].Attributes) != 2 {
				t.Errorf("orders: %s", r.body)
			}
			r = f.do(t, "GET", "/v1/segments/fresh/members", nil, nil)
			if strings.TrimSpace(string(r.body)) != `{"members":[]}` {
				t.Errorf("an empty segment: %d %s", r.status, r.body)
			}

			// Bad parameters name themselves; nothing is read.
			for _, tc := range []struct{ query, msg string }{
				{"limit=0", "limit must be an integer from 1 to 1000"},
				{"limit=1001", "limit must be an integer from 1 to 1000"},
				{"limit=ten", "limit must be an integer from 1 to 1000"},
				{"after=p1", `after must be an entity id (32 hex digits, the next of a previous page), got "p1"`},
				{"after=" + strings.ToUpper(f.ids["p1"]), "after must be an entity id"},
				{"attributes=spend,nope", `attributes: unknown attribute "nope"`},
				{"attributes=spend,", `attributes: unknown attribute ""`},
			} {
				expectError(t, f.do(t, "GET", "/v1/segments/buyers/members?"+tc.query, nil, nil), 400, "bad_request", tc.msg)
			}
			expectError(t, f.do(t, "GET", "/v1/segments/retired/members", nil, nil), 404, "not_found", `no segment "retired"`)
		})
	}
}

// TestProfileSegments: every profile read carries the segments of the
// config in force the entity is a member of, sorted, [] when none.
func TestProfileSegments(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newSegmentFixture(t, backend)
			want := map[string][]string{"p1": {"big_spenders", "buyers"}, "p2": {"buyers"}, "p3": {"big_spenders", "buyers"}, "p4": {"buyers"}, "p5": {}}
			type withSegments struct {
				ID       string   `json:"id"`
				Segments []string `json:"segments"`
			}
			for p, id := range f.ids {
				r := f.do(t, "GET", "/v1/entities/"+id, nil, nil)
				if got := decode[withSegments](t, r); r.status != 200 || !reflect.DeepEqual(got.Segments, want[p]) {
					t.Errorf("GET /v1/entities/%s (%s): %s, want segments %v", id, p, r.body, want[p])
				}
				r = f.do(t, "GET", "/v1/entities?identifier=email:"+p+"@example.com", nil, nil)
				if got := decode[withSegments](t, r); r.status != 200 || got.ID != id || !reflect.DeepEqual(got.Segments, want[p]) {
					t.Errorf("by identifier %s: %s", p, r.body)
				}
			}
			if r := f.do(t, "GET", "/v1/entities/"+f.ids["p5"], nil, nil); !strings.Contains(string(r.body), `"segments":[]`) {
				t.Errorf("no segments is not []: %s", r.body)
			}
			r := f.do(t, "GET", "/v1/entities?limit=1000", nil, nil)
			list := decode[struct{ Entities []withSegments }](t, r)
			if len(list.Entities) != 5 {
				t.Fatalf("entities: %s", r.body)
			}
			for _, e := range list.Entities {
				for p, id := range f.ids {
					if id == e.ID && !reflect.DeepEqual(e.Segments, want[p]) {
						t.Errorf("listed %s: segments %v, want %v", p, e.Segments, want[p])
					}
				}
			}
		})
	}
}
