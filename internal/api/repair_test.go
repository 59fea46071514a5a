package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/store"
)

// repairYAML reads a login id (trusted, one per entity), an email and a
// cookie from form submits.
const repairYAML = `stitching:
  rules:
    - identifier: login
      event: web/form_submit
      value_expression: payload->>'login'
    - identifier: email
      event: web/form_submit
      value_expression: lower(payload->>'email')
    - identifier: cookie
      event: web/form_submit
      value_expression: payload->>'cookie'
  identifiers:
    login:
      max_per_entity: 1
      priority: 1
    email:
      priority: 2
`

// repairServer is a server with repairYAML in force, an admin key named
// ops (the one its calls use) and these people stitched:
//   - Ann: cookies c1 and c2, email ann@x.io;
//   - Bob: cookie c3, email bob@x.io;
//   - a household: cookies c6 and c7 joined by the shared email
//     home@x.io only;
//   - Cy: cookie c8, then merged (an event carrying c8 and c9) with
//     the entity of c9, Cy's other device.
type repairServer struct {
	*testServer
	ops string // the ops key
	// The live entities of Ann, Bob and Cy, and Cy's merged-away one.
	ann, bob, cy, cyMerged string
}

// eachRepairServer runs fn on a repairServer of each backend, in parallel.
func eachRepairServer(t *testing.T, fn func(t *testing.T, s *repairServer)) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			fn(t, newRepairServer(t, backend))
		})
	}
}

func newRepairServer(t *testing.T, backend string) *repairServer {
	t.Helper()
	s := &repairServer{testServer: newServer(t, backend, api.Config{APIKeys: []string{"boot"}})}
	if r := s.do(t, "PUT", "/v1/config", withKey("boot"), []byte(repairYAML)); r.status != 200 {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	r := s.do(t, "POST", "/v1/keys", withKey("boot"), []byte(`{"name":"ops","scopes":["admin"]}`))
	s.ops = decode[client.CreatedKey](t, r).Secret
	lines := []string{
		form("e1", 0, `"cookie":"c1","email":"ann@x.io"`),
		form("e2", 1000, `"cookie":"c2","email":"Ann@x.io"`),
		form("e3", 2000, `"cookie":"c3","email":"bob@x.io"`),
		form("e6", 3000, `"cookie":"c6","email":"home@x.io"`),
		form("e7", 4000, `"cookie":"c7","email":"home@x.io"`),
		form("e8", 5000, `"cookie":"c8"`),
		form("e9", 6000, `"cookie":"c9"`),
		form("e10", 7000, `"cookie":"c8"`),
	}
	if r := s.do(t, "POST", "/v1/events", withKey("boot"), []byte(strings.Join(lines, "\n"))); decode[ingestResult](t, r).Accepted != len(lines) {
		t.Fatalf("ingest: %s", r.body)
	}
	s.stitch(t, false)
	// Cy's two devices meet on one event, after both were stitched.
	if r := s.do(t, "POST", "/v1/events", withKey("boot"), []byte(form("e11", 8000, `"cookie":"c9","login":"cy"`)+"\n"+form("e12", 9000, `"cookie":"c8","login":"cy"`))); r.status != 200 {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	s.stitch(t, false)
	s.ann, s.bob, s.cy = s.holder(t, "cookie:c1"), s.holder(t, "cookie:c3"), s.holder(t, "cookie:c8")
	s.cyMerged = s.mergedAway(t, s.cy)
	return s
}

func form(id string, ms int, fields string) string {
	return rec(id, "form_submit", ms, "{"+fields+"}")
}

// stitch runs a stitching pass, or a rebuild.
func (s *repairServer) stitch(t *testing.T, fromScratch bool) {
	t.Helper()
	body, _ := json.Marshal(map[string]bool{"from_scratch": fromScratch})
	if r := s.do(t, "POST", "/v1/stitching/run", withKey("boot"), body); r.status != 200 {
		t.Fatalf("stitching: %d %s", r.status, r.body)
	}
}

// mergedAway returns the id of an entity merged into the live one.
func (s *repairServer) mergedAway(t *testing.T, live string) string {
	t.Helper()
	merges := decode[struct {
		Merges []store.Merge `json:"merges"`
	}](t, s.do(t, "GET", "/v1/entities/"+live+"/merges", withKey("boot"), nil)).Merges
	if len(merges) != 1 {
		t.Fatalf("merges into %s: %+v", live, merges)
	}
	return merges[0].Loser
}

// holder returns the live entity holding an identifier.
func (s *repairServer) holder(t *testing.T, ident string) string {
	t.Helper()
	r := s.do(t, "GET", "/v1/entities?identifier="+ident, withKey("boot"), nil)
	if r.status != 200 {
		t.Fatalf("entity of %s: %d %s", ident, r.status, r.body)
	}
	return decode[entity](t, r).ID
}

// post calls a repair route with the ops key.
func (s *repairServer) post(t *testing.T, method, path, body string) response {
	t.Helper()
	return s.do(t, method, path, withKey(s.ops), []byte(body))
}

// repair calls a repair route that must answer 200.
func (s *repairServer) repair(t *testing.T, method, path, body string) api.Repair {
	t.Helper()
	r := s.post(t, method, path, body)
	if r.status != 200 {
		t.Fatalf("%s %s %s: %d %s", method, path, body, r.status, r.body)
	}
	return decode[api.Repair](t, r)
}

func (s *repairServer) constraints(t *testing.T) []store.StitchConstraint {
	t.Helper()
	r := s.do(t, "GET", "/v1/identity/constraints", withKey(s.ops), nil)
	if r.status != 200 {
		t.Fatalf("constraints: %d %s", r.status, r.body)
	}
	return decode[struct {
		Constraints []store.StitchConstraint `json:"constraints"`
	}](t, r).Constraints
}

// TestRepairBadRequests: every bad request to the repair routes gets its
// precise 4xx, and changes nothing.
func TestRepairBadRequests(t *testing.T) {
	eachRepairServer(t, func(t *testing.T, s *repairServer) {
		ann, bob, cy, cyOther := s.ann, s.bob, s.cy, s.cyMerged
		split := "/v1/entities/" + ann + "/split"
		for _, c := range []struct {
			method, path, body string
			status             int
			code, msg          string
		}{
			// Split.
			{"POST", "/v1/entities/nope/split", `{"identifiers":["cookie:c1"]}`, 404, "not_found", `no entity "nope"`},
			{"POST", split, `{"identifiers":[]}`, 400, "bad_request", "identifiers is empty"},
			{"POST", split, `{}`, 400, "bad_request", "identifiers is empty"},
			{"POST", split, ``, 400, "invalid_body", "body is empty"},
			{"POST", split, `{"identifier":["cookie:c1"]}`, 400, "invalid_body", `unknown field "identifier"`},
			{"POST", split, `{"identifiers":["c1"]}`, 400, "bad_request", `identifiers[0]: "c1" must be category:value`},
			{"POST", split, `{"identifiers":["cookie:c1", 7]}`, 400, "bad_request", `identifiers[1]: must be "category:value" or {"category"`},
			{"POST", split, `{"identifiers":[{"category":"cookie","val":"c1"}]}`, 400, "bad_request", `identifiers[0]: must be`},
			{"POST", split, `{"identifiers":["cookie:"]}`, 400, "bad_request", "identifiers[0]: value is empty"},
			{"POST", split, `{"identifiers":["cookie:c1\u0000"]}`, 400, "invalid_body", `\u0000`},
			{"POST", split, `{"identifiers":["cookie:c1\ud800"]}`, 400, "invalid_body", `surrogate`},
			{"POST", split, `{"identifiers":["cookie:c1","cookie:c3"]}`, 422, "unprocessable", "identifiers[1]: entity " + ann + " does not hold identifier cookie:c3"},
			{"POST", split, `{"identifiers":[{"category":"email","value":"bob@x.io"}]}`, 422, "unprocessable", "does not hold identifier email:bob@x.io"},
			{"POST", split, `{"identifiers":["cookie:c1","cookie:c2",{"category":"email","value":"ann@x.io"},"cookie:c1"]}`, 400, "bad_request",
				"identifiers name all 3 identifiers of entity " + ann + ": keep one at least"},
			{"POST", "/v1/entities/" + bob + "/split", `{"identifiers":["cookie:c3","email:bob@x.io"]}`, 400, "bad_request", "all 2 identifiers"},
			// Merge.
			{"POST", "/v1/entities/merge", `{"ids":[]}`, 400, "bad_request", "ids names 0 entities: a merge needs two at least"},
			{"POST", "/v1/entities/merge", `{"ids":["` + ann + `"]}`, 400, "bad_request", "ids names 1 entities"},
			{"POST", "/v1/entities/merge", `{"ids":["` + ann + `","` + ann + `"]}`, 400, "bad_request", "names entity \"" + ann + "\" twice: merging an entity with itself"},
			{"POST", "/v1/entities/merge", `{"ids":["` + ann + `","nope"]}`, 404, "not_found", `no entity "nope"`},
			{"POST", "/v1/entities/merge", `{"ids":["` + cy + `","` + cyOther + `"]}`, 400, "bad_request", "are one entity already"},
			{"POST", "/v1/entities/merge", `{"entities":["a","b"]}`, 400, "invalid_body", `unknown field "entities"`},
			// Block.
			{"POST", "/v1/identifiers/block", `{"category":"phone","value":"1"}`, 400, "bad_request", `unknown category "phone": the stitching rules read anon_user_id, cookie, email, login, user_id`},
			{"POST", "/v1/identifiers/block", `{"category":"email","value":""}`, 400, "bad_request", "value is empty"},
			{"POST", "/v1/identifiers/block", `{"category":"","value":"x"}`, 400, "bad_request", "category is empty"},
			{"POST", "/v1/identifiers/block", `{"category":"email","value":"a","why":"junk"}`, 400, "invalid_body", `unknown field "why"`},
			// Removal.
			{"DELETE", "/v1/identity/constraints/nope", ``, 404, "not_found", `no identity constraint "nope"`},
		} {
			expectError(t, s.post(t, c.method, c.path, c.body), c.status, c.code, c.msg)
		}
		if list := s.constraints(t); len(list) != 0 {
			t.Errorf("bad requests stored constraints: %+v", list)
		}
		// The refusal of an identifier not held is audited without its value.
		entries := s.audit(t, s.ops, "action=entities.split")
		if len(entries) != 15 {
			t.Fatalf("%d entities.split entries, want 15: %+v", len(entries), entries)
		}
		for _, e := range entries {
			if e.KeyName != "ops" || e.Status < 400 || strings.Contains(e.Summary, "bob@x.io") {
				t.Errorf("audit entry %+v", e)
			}
		}
	})
}

// TestRepairConstraints: split, merge and block store constraints with
// the key's name, listed newest first, audited, refused twice for a
// block, and removable.
func TestRepairConstraints(t *testing.T) {
	eachRepairServer(t, func(t *testing.T, s *repairServer) {
		ann, bob, cy, merged := s.ann, s.bob, s.cy, s.cyMerged

		split := s.repair(t, "POST", "/v1/entities/"+ann+"/split", `{"identifiers":["cookie:c2"]}`)
		var spec store.SplitSpec
		if err := json.Unmarshal(split.Constraint.Spec, &spec); err != nil {
			t.Fatal(err)
		}
		want := store.SplitSpec{Entity: ann, Identifiers: []store.Identifier{{Category: "cookie", Value: "c2"}},
			ApartFrom: []store.Identifier{{Category: "cookie", Value: "c1"}, {Category: "email", Value: "ann@x.io"}}}
		if split.Constraint.Kind != "split" || split.Constraint.CreatedBy != "ops" || len(split.Constraint.ID) != 16 || split.Result == nil ||
			split.Split == nil || len(split.Split.Identifiers) == 0 || len(split.Split.ApartFrom) == 0 || !equalJSON(t, spec, want) {
			t.Fatalf("split: %+v %s", split, split.Constraint.Spec)
		}

		// A merged-away id resolves to its survivor; the merge names
		// each entity by its first event.
		merge := s.repair(t, "POST", "/v1/entities/merge", `{"ids":["`+bob+`","`+merged+`"]}`)
		var mspec store.MergeSpec
		if err := json.Unmarshal(merge.Constraint.Spec, &mspec); err != nil {
			t.Fatal(err)
		}
		if !equalJSON(t, mspec, store.MergeSpec{Entities: []string{bob, cy}, Events: []string{"e3", "e8"}}) || merge.EntityID == "" || len(merge.Entities) == 0 {
			t.Fatalf("merge: %+v %s", merge, merge.Constraint.Spec)
		}

		block := s.repair(t, "POST", "/v1/identifiers/block", `{"category":"email","value":"home@x.io"}`)
		if string(block.Constraint.Spec) != `{"category":"email","value":"home@x.io"}` || len(block.Entities) != 1 {
			t.Fatalf("block: %+v", block)
		}
		expectError(t, s.post(t, "POST", "/v1/identifiers/block", `{"category":"email","value":"home@x.io"}`), 409, "conflict",
			"this value of category email is blocked already, by constraint "+block.Constraint.ID)

		list := s.constraints(t)
		if len(list) != 3 || list[0].ID != block.Constraint.ID || list[1].ID != merge.Constraint.ID || list[2].ID != split.Constraint.ID {
			t.Fatalf("constraints, newest first: %+v", list)
		}
		for _, c := range list {
			if c.CreatedBy != "ops" || c.CreatedAt.IsZero() {
				t.Errorf("constraint %+v", c)
			}
		}

		removed := s.repair(t, "DELETE", "/v1/identity/constraints/"+split.Constraint.ID, "")
		if removed.Constraint.ID != split.Constraint.ID || removed.Constraint.Kind != "split" || len(removed.Entities) == 0 {
			t.Fatalf("remove: %+v", removed)
		}
		expectError(t, s.post(t, "DELETE", "/v1/identity/constraints/"+split.Constraint.ID, ""), 404, "not_found", "no identity constraint")
		if list := s.constraints(t); len(list) != 2 || list[0].ID != block.Constraint.ID {
			t.Fatalf("after removal: %+v", list)
		}
		// Removing re-clusters the entities that hold what the constraint
		// names.
		for _, c := range []struct {
			id     string
			idents []string
		}{{block.Constraint.ID, []string{"cookie:c6", "cookie:c7"}}, {merge.Constraint.ID, []string{"cookie:c3", "cookie:c8"}}} {
			var holders []string
			for _, ident := range c.idents {
				holders = append(holders, s.holder(t, ident))
			}
			removed := s.repair(t, "DELETE", "/v1/identity/constraints/"+c.id, "")
			for _, h := range holders {
				if !slices.Contains(removed.Entities, h) {
					t.Errorf("removing %s re-clustered %v, not %s (holding one of %v)", c.id, removed.Entities, h, c.idents)
				}
			}
		}
		if list := s.constraints(t); len(list) != 0 {
			t.Fatalf("after removing all: %+v", list)
		}

		// Every manual action is in the audit trail with the key's name,
		// and no identifier value.
		for action, summary := range map[string]string{
			"entities.split":              "split entity " + ann + ": 1 identifiers (cookie) kept apart from its 2 others; constraint " + split.Constraint.ID,
			"entities.merge":              "merged entities " + bob + ", " + cy + "; constraint " + merge.Constraint.ID,
			"identifiers.block":           "blocked a value of category email, held by 1 entities; constraint " + block.Constraint.ID,
			"identity.constraints.remove": "removed split constraint " + split.Constraint.ID + " (added by ops)",
		} {
			entries := s.audit(t, s.ops, "action="+action)
			if len(entries) == 0 || entries[len(entries)-1].KeyName != "ops" || entries[len(entries)-1].Status != 200 ||
				!strings.HasPrefix(entries[len(entries)-1].Summary, summary) || strings.Contains(entries[len(entries)-1].Summary, "@") {
				t.Errorf("audit of %s: %+v, want a first entry by ops: %s", action, entries, summary)
			}
		}
	})
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}

// TestRepairHonoured: after a split, merge or block the entities are as
// asked, and stay so through a later pass and a rebuild; removing the
// constraint undoes it. This needs the step 12 engine (Engine.Recluster
// and constraints honoured by passes).
func TestRepairHonoured(t *testing.T) {
	eachRepairServer(t, func(t *testing.T, s *repairServer) {
		ann, bob := s.ann, s.bob
		apart := func(when string, a, b string) {
			t.Helper()
			if x, y := s.holder(t, a), s.holder(t, b); x == y {
				t.Errorf("%s: %s and %s are both in %s, want them apart", when, a, b, x)
			}
		}
		together := func(when string, a, b string) {
			t.Helper()
			if x, y := s.holder(t, a), s.holder(t, b); x != y {
				t.Errorf("%s: %s is in %s and %s in %s, want one entity", when, a, x, b, y)
			}
		}

		split := s.repair(t, "POST", "/v1/entities/"+ann+"/split", `{"identifiers":["cookie:c2"]}`)
		if len(split.Split.Identifiers) != 1 || len(split.Split.ApartFrom) != 1 || split.Split.Identifiers[0] == split.Split.ApartFrom[0] {
			t.Errorf("split answer: %+v", split.Split)
		}
		merge := s.repair(t, "POST", "/v1/entities/merge", `{"ids":["`+ann+`","`+bob+`"]}`)
		if len(merge.Entities) != 1 || merge.Entities[0] != merge.EntityID {
			t.Errorf("merge answer: %+v", merge)
		}
		block := s.repair(t, "POST", "/v1/identifiers/block", `{"category":"email","value":"home@x.io"}`)
		if len(block.Splits) != 1 {
			t.Errorf("block answer: %+v", block)
		}
		check := func(when string) {
			t.Helper()
			apart(when, "cookie:c2", "cookie:c1")
			together(when, "cookie:c1", "cookie:c3")
			apart(when, "cookie:c6", "cookie:c7")
			s.checkKeys(t, when)
		}
		check("after the repairs")
		if r := s.do(t, "POST", "/v1/events", withKey("boot"), []byte(form("e20", 20000, `"cookie":"c2","email":"ann@x.io"`))); r.status != 200 {
			t.Fatalf("ingest: %d %s", r.status, r.body)
		}
		s.stitch(t, false)
		check("after a pass with an event carrying both sides of the split")
		s.stitch(t, true)
		check("after a rebuild")

		for _, c := range []api.Repair{split, merge, block} {
			s.repair(t, "DELETE", "/v1/identity/constraints/"+c.Constraint.ID, "")
		}
		together("without the split", "cookie:c2", "cookie:c1")
		apart("without the merge", "cookie:c1", "cookie:c3")
		together("without the block", "cookie:c6", "cookie:c7")
		s.checkKeys(t, "without the constraints")
	})
}

// checkKeys fails if a row of entity_events or identifiers does not hold
// the entity key of its entity_id, on a backend with keys: readers narrow
// by it (store.Capabilities.EntityKey), so a writer (a pass, a merge, a
// re-clustering, a rebuild) that left it NULL or stale would hide rows.
// On both backends, it fails if a row of entity_events does not carry its
// event's source_id, type and event_time (the segments' event conditions
// read them there).
func (s *repairServer) checkKeys(t *testing.T, when string) {
	t.Helper()
	var unlike int
	if err := s.store.QueryRowContext(context.Background(), s.store.Query("StitchMappingsUnlikeLog")).Scan(&unlike); err != nil || unlike != 0 {
		t.Errorf("%s: %d event mappings without their event's source, type and time (%v)", when, unlike, err)
	}
	key := s.store.Capabilities().EntityKey()
	if key == "" {
		return
	}
	for _, table := range []string{"entity_events", "identifiers"} {
		var rows, wrong int
		err := s.store.QueryRowContext(context.Background(), "SELECT count(*), count(*) FILTER (WHERE entity_key IS DISTINCT FROM "+key+") FROM "+table).Scan(&rows, &wrong)
		if err != nil || rows == 0 || wrong != 0 {
			t.Errorf("%s: %d of the %d rows of %s without their entity key (%v)", when, wrong, rows, table, err)
		}
	}
}
