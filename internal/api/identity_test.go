package api_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/identitygraph"
	"github.com/weftdata/weft/internal/store"
)

// identityYAML stitches by cookie and email, one email per entity.
const identityYAML = `stitching:
  rules:
    - identifier: cookie
      event: web/form_submit
      value_expression: payload->>'cookie'
    - identifier: email
      event: web/form_submit
      value_expression: lower(trim(payload->>'email'))
  identifiers:
    email:
      blocked_values: ["none"]
      max_per_entity: 1
`

// identityServer stitches ann (cookies c1, c2 and c5, which came as an
// entity of its own and was merged in), bob (cookie c3, and a blocked
// email) and two forms with other emails on one cookie, c4, which is
// therefore ambiguous: its links were refused (one email per entity).
func identityServer(t *testing.T, backend string) (*testServer, string, string) {
	t.Helper()
	s := newServer(t, backend, api.Config{})
	if r := s.do(t, "PUT", "/v1/config", nil, []byte(identityYAML)); r.status != 200 {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	batches := [][]string{
		{formSubmit("e1", 1, "c1", "ann@example.org"), formSubmit("e2", 2, "c2", "ann@example.org"),
			formSubmit("e3", 3, "c4", "other@example.org"), formSubmit("e4", 4, "c3", "bob@example.org"),
			formSubmit("e5", 5, "c3", "none"), rec("e6", "form_submit", 6, `{"cookie":"c5"}`),
			formSubmit("e8", 8, "c4", "third@example.org")},
		{formSubmit("e7", 7, "c5", "ann@example.org")},
	}
	for _, b := range batches {
		if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(b, "\n"))); decode[ingestResult](t, r).Accepted != len(b) {
			t.Fatalf("ingest: %s", r.body)
		}
		if r := s.do(t, "POST", "/v1/stitching/run", nil, nil); r.status != 200 {
			t.Fatalf("stitch: %d %s", r.status, r.body)
		}
	}
	return s, entityOf(t, s, "email:ann@example.org"), entityOf(t, s, "email:bob@example.org")
}

func entityOf(t *testing.T, s *testServer, ident string) string {
	t.Helper()
	r := s.do(t, "GET", "/v1/entities?identifier="+url.QueryEscape(ident), nil, nil)
	if r.status != 200 {
		t.Fatalf("find %s: %d %s", ident, r.status, r.body)
	}
	return decode[entity](t, r).ID
}

func keys(ks ...string) []identitygraph.Key {
	var out []identitygraph.Key
	for _, k := range ks {
		c, v, _ := strings.Cut(k, ":")
		out = append(out, identitygraph.Key{Category: c, Value: v})
	}
	return out
}

func TestEntityGraph(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, ann, bob := identityServer(t, backend)
			t.Run("graph", func(t *testing.T) {
				r := s.do(t, "GET", "/v1/entities/"+ann+"/graph", nil, nil)
				g := decode[identitygraph.Graph](t, r)
				if r.status != 200 || g.EntityID != ann || g.EventsCount != 4 || g.EventsRead != 4 || g.Truncated {
					t.Fatalf("graph: %d %s", r.status, r.body)
				}
				var idents []identitygraph.Key
				counts := map[string]int{}
				for _, n := range g.Identifiers {
					idents = append(idents, n.Key)
					counts[n.String()] = n.Events.Count
				}
				want := keys("cookie:c1", "email:ann@example.org", "cookie:c2", "cookie:c5")
				if !sameKeys(idents, want) {
					t.Errorf("identifiers %v, want %v", idents, want)
				}
				if counts["cookie:c1"] != 1 || counts["cookie:c2"] != 1 || counts["email:ann@example.org"] != 3 || counts["cookie:c5"] != 2 {
					t.Errorf("events per identifier %v", counts)
				}
				ann := g.Identifiers[1]
				if ann.Events.First == nil || !ann.Events.First.Equal(time.UnixMilli(1767323045000+1)) ||
					!ann.Events.Last.Equal(time.UnixMilli(1767323045000+7)) || strings.Join(ann.Events.IDs, ",") != "e1,e2,e7" {
					t.Errorf("the email's events: %+v", ann.Events)
				}
				// One link per identifier: each is read by one rule.
				if len(g.Links) != 4 {
					t.Fatalf("%d links, want 4: %s", len(g.Links), r.body)
				}
				for _, l := range g.Links {
					rule := map[string]int{"cookie": 0, "email": 1}[l.Category]
					if l.Rule != rule || l.RuleEvent != "web/form_submit" || l.Events != counts[l.String()] {
						t.Errorf("link %+v", l)
					}
				}
				if l := g.Links[0]; l.String() != "cookie:c1" || l.FirstEvent.ID != "e1" || l.FirstEvent.Type != "form_submit" {
					t.Errorf("first link %+v", l)
				}
				if len(g.Refused) != 0 {
					t.Errorf("refused %+v, want none", g.Refused)
				}
			})
			t.Run("refused link", func(t *testing.T) {
				// The forms with other emails on c4 are entities of their
				// own: c4 is ambiguous (its events carry two emails, one is
				// allowed), so its links were refused and nobody holds it.
				other := entityOf(t, s, "email:other@example.org")
				g := decode[identitygraph.Graph](t, s.do(t, "GET", "/v1/entities/"+other+"/graph", nil, nil))
				if len(g.Identifiers) != 1 || len(g.Links) != 1 || len(g.Refused) != 1 {
					t.Fatalf("graph of the second email: %+v", g)
				}
				if x := g.Refused[0]; x.String() != "cookie:c4" || x.Reason != "ambiguous" || x.HeldBy != "" || x.Event == nil || x.Event.ID != "e3" {
					t.Errorf("refused %+v", x)
				}
			})
			t.Run("blocked value", func(t *testing.T) {
				g := decode[identitygraph.Graph](t, s.do(t, "GET", "/v1/entities/"+bob+"/graph", nil, nil))
				if len(g.Identifiers) != 2 || len(g.Links) != 2 || len(g.Refused) != 1 || g.Refused[0].String() != "email:none" || g.Refused[0].Reason != "blocked" {
					t.Errorf("bob's graph: %+v", g)
				}
			})
			t.Run("recorded refused link", func(t *testing.T) {
				// A link the engine recorded as refused (stitch_refused),
				// listed with its reason beside the ones the audit explains.
				// The engine of this step does not write stitch_refused
				// yet: the test writes the row.
				_, err := s.store.ExecContext(context.Background(), `INSERT INTO stitch_refused (entity_id, event_seq, category, value, reason, key_hash)
					SELECT $1, seq, 'cookie', 'c9', 'manual_split', 0 FROM event_log WHERE id = 'e5'`, bob)
				if err != nil {
					t.Fatal(err)
				}
				g := decode[identitygraph.Graph](t, s.do(t, "GET", "/v1/entities/"+bob+"/graph", nil, nil))
				if len(g.Refused) != 2 {
					t.Fatalf("refused %+v, want 2", g.Refused)
				}
				if x := g.Refused[0]; x.String() != "cookie:c9" || x.Reason != "manual_split" || x.Event == nil || x.Event.ID != "e5" || x.HeldBy != "" {
					t.Errorf("recorded refusal %+v", x)
				}
				if x := g.Refused[1]; x.String() != "email:none" || x.Reason != "blocked" {
					t.Errorf("audited refusal %+v", x)
				}
			})
			t.Run("chain", func(t *testing.T) {
				r := s.do(t, "GET", "/v1/entities/"+ann+"/graph?from=cookie:c1&to=cookie:c5", nil, nil)
				p := decode[identitygraph.Path](t, r)
				if r.status != 200 || len(p.Steps) != 5 {
					t.Fatalf("chain: %d %s", r.status, r.body)
				}
				var got []string
				for _, st := range p.Steps {
					if st.Identifier != nil {
						got = append(got, st.Identifier.String())
					} else {
						got = append(got, st.Event.ID+"/"+st.Event.Type)
					}
				}
				if strings.Join(got, " ") != "cookie:c1 e1/form_submit email:ann@example.org e7/form_submit cookie:c5" {
					t.Errorf("chain %v", got)
				}
				// From an identifier to itself: the identifier alone.
				p = decode[identitygraph.Path](t, s.do(t, "GET", "/v1/entities/"+ann+"/graph?from=cookie:c2&to=cookie:c2", nil, nil))
				if len(p.Steps) != 1 || p.Steps[0].Identifier.String() != "cookie:c2" {
					t.Errorf("chain to itself: %+v", p.Steps)
				}
				// A merged-away id reads its survivor's graph.
				merged := decode[struct{ Merges []store.Merge }](t, s.do(t, "GET", "/v1/entities/"+ann+"/merges", nil, nil))
				if len(merged.Merges) != 1 {
					t.Fatalf("merges %+v", merged)
				}
				p = decode[identitygraph.Path](t, s.do(t, "GET", "/v1/entities/"+merged.Merges[0].Loser+"/graph?from=cookie:c5&to=cookie:c1", nil, nil))
				if p.EntityID != ann || len(p.Steps) != 5 {
					t.Errorf("through a merged id: %+v", p)
				}
			})
			t.Run("bad requests", func(t *testing.T) {
				g := "/v1/entities/" + ann + "/graph?"
				expectError(t, s.do(t, "GET", "/v1/entities/nope/graph", nil, nil), 404, "not_found", `no entity "nope"`)
				expectError(t, s.do(t, "GET", "/v1/entities/nope/graph?from=cookie:c1&to=cookie:c2", nil, nil), 404, "not_found", `no entity "nope"`)
				expectError(t, s.do(t, "GET", g+"from=c1&to=cookie:c2", nil, nil), 400, "bad_request", `from "c1" must be an identifier category:value`)
				expectError(t, s.do(t, "GET", g+"from=cookie:c1&to=:c2", nil, nil), 400, "bad_request", `to ":c2" must be`)
				expectError(t, s.do(t, "GET", g+"from=cookie:c1", nil, nil), 400, "bad_request", `to "" must be`)
				expectError(t, s.do(t, "GET", g+"from=cookie:c1%00&to=cookie:c2", nil, nil), 400, "bad_request", `from holds \u0000`)
				expectError(t, s.do(t, "GET", g+"from=cookie:c1&to=cookie:%ff", nil, nil), 400, "bad_request", `not UTF-8`)
				expectError(t, s.do(t, "GET", g+"from=cookie:c1&to=cookie:c3", nil, nil), 404, "not_found", "identifier cookie:c3 is not in entity "+ann)
				expectError(t, s.do(t, "GET", g+"from=email:other@example.org&to=cookie:c1", nil, nil), 404, "not_found",
					"identifier email:other@example.org is not in entity "+ann)
				expectError(t, s.do(t, "GET", "/v1/entities/"+ann+"/history/x", nil, nil), 404, "not_found", "")
			})
		})
	}
}

func sameKeys(a, b []identitygraph.Key) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[identitygraph.Key]int{}
	for i := range a {
		seen[a[i]]++
		seen[b[i]]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// splitRow writes a split as the engine records it: the engine of this
// step cannot split yet, so the test writes the row.
func splitRow(t *testing.T, s *testServer, id, parts string, at time.Time) {
	t.Helper()
	_, err := s.store.ExecContext(context.Background(),
		`INSERT INTO stitch_splits (entity_id, parts, category, value, event_seq, constraint_id, split_at) VALUES ($1, $2, 'email', 'ann@example.org', 2, NULL, $3)`,
		id, parts, at)
	if err != nil {
		t.Fatal(err)
	}
}

type historyAnswer struct {
	EntityID string `json:"entity_id"`
	History  []struct {
		Kind  string       `json:"kind"`
		At    time.Time    `json:"at"`
		Merge *store.Merge `json:"merge"`
		Split *store.Split `json:"split"`
	} `json:"history"`
}

func TestEntityHistoryAndSplits(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, ann, bob := identityServer(t, backend)
			gone, emptied := strings.Repeat("a", 32), strings.Repeat("b", 32)
			later := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
			// gone split into ann and bob and has no row left; emptied
			// kept its row, pointing at the part that holds its first
			// event, as the engine leaves an entity that split.
			splitRow(t, s, gone, `["`+ann+`", "`+bob+`"]`, later)
			splitRow(t, s, emptied, `["`+bob+`"]`, later.Add(time.Minute))
			if _, err := s.store.ExecContext(context.Background(),
				`INSERT INTO entities (id, created_seq, created_at, modified_at, merged_into) VALUES ($1, 1000000, $2, $2, $3)`, emptied, later, bob); err != nil {
				t.Fatal(err)
			}

			t.Run("history", func(t *testing.T) {
				r := s.do(t, "GET", "/v1/entities/"+ann+"/history", nil, nil)
				h := decode[historyAnswer](t, r)
				if r.status != 200 || h.EntityID != ann || len(h.History) != 2 {
					t.Fatalf("history: %d %s", r.status, r.body)
				}
				// Newest first: the split that made ann, then the merge.
				if h.History[0].Kind != "split" || h.History[0].Split.EntityID != gone || !h.History[0].At.Equal(later) ||
					h.History[1].Kind != "merge" || h.History[1].Merge.Survivor != ann || h.History[1].Merge.Category == "" {
					t.Errorf("history %s", r.body)
				}
				// The id that split has a history too: the split that ended it.
				h = decode[historyAnswer](t, s.do(t, "GET", "/v1/entities/"+gone+"/history", nil, nil))
				if h.EntityID != gone || len(h.History) != 1 || strings.Join(h.History[0].Split.Parts, ",") != ann+","+bob {
					t.Errorf("history of the split id: %+v", h)
				}
				expectError(t, s.do(t, "GET", "/v1/entities/nope/history", nil, nil), 404, "not_found", `no entity "nope"`)
			})
			t.Run("merges list splits too", func(t *testing.T) {
				r := s.do(t, "GET", "/v1/entities/"+bob+"/merges", nil, nil)
				m := decode[struct {
					EntityID string        `json:"entity_id"`
					Merges   []store.Merge `json:"merges"`
					Splits   []store.Split `json:"splits"`
				}](t, r)
				if r.status != 200 || m.EntityID != bob || m.Merges == nil || len(m.Merges) != 0 || len(m.Splits) != 2 ||
					m.Splits[0].EntityID != emptied || m.Splits[1].EntityID != gone || m.Splits[1].Category != "email" || m.Splits[1].EventSeq != 2 {
					t.Errorf("merges: %d %s", r.status, r.body)
				}
			})
			t.Run("profile of a split id", func(t *testing.T) {
				r := s.do(t, "GET", "/v1/entities/"+gone, nil, nil)
				a := decode[struct {
					ID        string   `json:"id"`
					SplitInto []string `json:"split_into"`
					Parts     []entity `json:"parts"`
				}](t, r)
				if r.status != 200 || a.ID != gone || strings.Join(a.SplitInto, ",") != ann+","+bob || len(a.Parts) != 2 {
					t.Fatalf("split id: %d %s", r.status, r.body)
				}
				byID := map[string]entity{a.Parts[0].ID: a.Parts[0], a.Parts[1].ID: a.Parts[1]}
				if byID[ann].EventsCount != 4 || byID[bob].Identifiers["cookie"][0] != "c3" {
					t.Errorf("parts %+v", a.Parts)
				}
				a = decode[struct {
					ID        string   `json:"id"`
					SplitInto []string `json:"split_into"`
					Parts     []entity `json:"parts"`
				}](t, s.do(t, "GET", "/v1/entities/"+emptied, nil, nil))
				if a.ID != emptied || len(a.Parts) != 1 || a.Parts[0].ID != bob {
					t.Errorf("an emptied entity: %+v", a)
				}
				// A live entity that is one of the parts answers as before.
				e := decode[entity](t, s.do(t, "GET", "/v1/entities/"+ann, nil, nil))
				if e.ID != ann || e.EventsCount != 4 {
					t.Errorf("a part: %+v", e)
				}
				expectError(t, s.do(t, "GET", "/v1/entities/"+gone+"/graph", nil, nil), 404, "not_found", "split into "+ann+", "+bob)
			})
		})
	}
}

// TestEntityGraphBounded: an entity with more identifiers than a graph
// lists says it is truncated, and a chain still reaches identifiers
// beyond the ones listed.
func TestEntityGraphBounded(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, backend, api.Config{})
			if r := s.do(t, "PUT", "/v1/config", nil, []byte(identityYAML)); r.status != 200 {
				t.Fatalf("apply: %d %s", r.status, r.body)
			}
			n := identitygraph.IdentifiersMax + 1 // events, each with a cookie of its own
			lines := make([]string, n)
			for i := range lines {
				lines[i] = formSubmit("b"+strconv.Itoa(i), i, "k"+strconv.Itoa(i), "big@example.org")
			}
			if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(lines, "\n"))); decode[ingestResult](t, r).Accepted != n {
				t.Fatalf("ingest: %.300s", r.body)
			}
			if r := s.do(t, "POST", "/v1/stitching/run", nil, nil); r.status != 200 {
				t.Fatalf("stitch: %d %s", r.status, r.body)
			}
			big := entityOf(t, s, "email:big@example.org")
			g := decode[identitygraph.Graph](t, s.do(t, "GET", "/v1/entities/"+big+"/graph", nil, nil))
			if !g.Truncated || len(g.Identifiers) != identitygraph.IdentifiersMax || g.EventsCount != int64(n) || g.EventsRead != n ||
				len(g.Links) != identitygraph.IdentifiersMax || g.Identifiers[1].Events.Count != n || len(g.Identifiers[1].Events.IDs) != identitygraph.EventIDsMax {
				t.Errorf("graph of %d identifiers: truncated %v, %d identifiers, %d links, %d of %d events", n+1, g.Truncated, len(g.Identifiers), len(g.Links), g.EventsRead, g.EventsCount)
			}
			last := "cookie:k" + strconv.Itoa(n-1)
			r := s.do(t, "GET", "/v1/entities/"+big+"/graph?from=cookie:k0&to="+last, nil, nil)
			p := decode[identitygraph.Path](t, r)
			if r.status != 200 || len(p.Steps) != 5 || p.Steps[2].Identifier.String() != "email:big@example.org" || p.Steps[4].Identifier.String() != last || p.Truncated {
				t.Errorf("chain beyond the identifiers listed: %d %s", r.status, r.body)
			}
		})
	}
}
