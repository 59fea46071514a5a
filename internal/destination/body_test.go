package destination

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
)

// hostile are values a profile may hold that JSON must escape or that
// sit at the edges of a number form.
var hostile = []string{"", "plain", `quo"te\back`, "<script>&amp;</script>", "nul\x00ctl\x01\x1f\b\f\n\r\t",
	"\u2028line\u2029para", "bad\xffutf8\xc3", "\xed\xa0\x80 lone surrogate as UTF-8", "emoji 🦊 ünïcödé",
	strings.Repeat("long ", 2000)}

// TestBodiesAsMarshal: the bodies written as bytes are those json.Marshal
// makes of ChangesBody and ProfilesBody, for hostile strings, every data
// type, lists and several values, unsorted keys and attributes without a
// definition.
func TestBodiesAsMarshal(t *testing.T) {
	defs := []attr.Definition{
		{ID: "s", Type: attr.TypeLast},
		{ID: "i", Type: attr.TypeLast, DataType: attr.DataInt},
		{ID: "f", Type: attr.TypeLast, DataType: attr.DataFloat},
		{ID: "b", Type: attr.TypeLast, DataType: attr.DataBool},
		{ID: "dt", Type: attr.TypeLast, DataType: attr.DataDatetime},
		{ID: "l", Type: attr.TypeList},
		{ID: "a_b", Type: attr.TypeLast},
		{ID: "ab", Type: attr.TypeLast},
	}
	byID := map[string]*attr.Definition{}
	for i := range defs {
		byID[defs[i].ID] = &defs[i]
	}
	floats := []string{"0", "-0", "1.5", "1e-7", "0.000001", "123456789012345678901234", "1e21", "-2.5e-10", "3.0", "not a number"}
	var profiles []profileValues
	for i, h := range hostile {
		p := profileValues{}
		// Keys out of order, several values of one, a key only
		// JSON sorting puts first.
		p.identifiers = add(p.identifiers, "phone", h)
		p.identifiers = add(p.identifiers, "email", "a@x")
		p.identifiers = add(p.identifiers, "email", h)
		p.attributes = add(p.attributes, "s", h)
		p.attributes = add(p.attributes, "l", h)
		p.attributes = add(p.attributes, "l", "second")
		p.attributes = add(p.attributes, "unknown", "left out")
		p.attributes = add(p.attributes, "f", floats[i%len(floats)])
		p.attributes = add(p.attributes, "i", []string{"42", "-7", "3.9", "x"}[i%4])
		p.attributes = add(p.attributes, "b", []string{"true", "false", "maybe"}[i%3])
		p.attributes = add(p.attributes, "dt", []string{"2026-12-06 08:00:00.123+01", "2026-12-06T08:00:00Z", h}[i%3])
		p.attributes = add(p.attributes, "ab", "after a_b")
		p.attributes = add(p.attributes, "a_b", "before ab")
		if i%4 == 3 {
			p.attributes = add(p.attributes, "s", "a second value makes a list")
		}
		profiles = append(profiles, p)
	}
	profiles = append(profiles, profileValues{}) // no values: {} and {}

	var want ChangesBody
	var wantProfiles ProfilesBody
	j := &webhookJob{}
	vals := map[string][]byte{}
	var batch []Change
	at := time.Date(2026, 12, 6, 8, 0, 0, 123456000, time.UTC)
	for i, p := range profiles {
		entity := hostile[i%len(hostile)] + "-entity-" + strconv.Itoa(i)
		identifiers := map[string][]string{}
		raw := map[string][]string{}
		for _, k := range p.identifiers {
			identifiers[k.key] = k.vals
		}
		for _, k := range p.attributes {
			raw[k.key] = k.vals
		}
		b, err := appendValues(nil, &profileValues{identifiers: append([]keyed(nil), p.identifiers...), attributes: append([]keyed(nil), p.attributes...)}, byID)
		if err != nil {
			t.Fatal(err)
		}
		vals[entity] = b
		c := Change{Seq: int64(i + 1), Segment: "seg_" + hostile[i%3], EntityID: entity, Change: "entered", Time: at.Add(time.Duration(i) * time.Hour)}
		batch = append(batch, c)
		c.Identifiers, c.Attributes = identifiers, attr.JSONValues(defs, raw)
		want.Changes = append(want.Changes, c)
		wantProfiles.Profiles = append(wantProfiles.Profiles, Profile{EntityID: entity, Time: at, Identifiers: c.Identifiers, Attributes: c.Attributes})
	}
	// A change of an entity without consent (no values) is left out.
	batch = append(batch, Change{Seq: 999, Segment: "s", EntityID: "no consent", Change: "exited", Time: at})

	got, n := j.changesBody(batch, vals)
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(profiles) {
		t.Fatalf("%d changes written, want %d", n, len(profiles))
	}
	sameBytes(t, "changes body", got, wantJSON)
	gotProfiles := []byte(`{"profiles":[`)
	for i, p := range wantProfiles.Profiles {
		if i > 0 {
			gotProfiles = append(gotProfiles, ',')
		}
		gotProfiles = appendProfile(gotProfiles, p.EntityID, p.Time, vals[p.EntityID])
	}
	gotProfiles = append(gotProfiles, ']', '}')
	if wantJSON, err = json.Marshal(wantProfiles); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "profiles body", gotProfiles, wantJSON)
}

// sameBytes fails the test where got first differs from want.
func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	from := max(i-80, 0)
	t.Fatalf("%s differs at byte %d of %d (want %d):\n got ...%s\nwant ...%s", what, i, len(got), len(want),
		got[from:min(i+80, len(got))], want[from:min(i+80, len(want))])
}

// TestBodyRefusesNaN: a float attribute holding NaN or an infinity is not
// JSON; writing it fails naming the attribute, as json.Marshal failed.
func TestBodyRefusesNaN(t *testing.T) {
	f := &attr.Definition{ID: "score", Type: attr.TypeLast, DataType: attr.DataFloat}
	for _, v := range []string{"NaN", "Inf", "-Infinity"} {
		p := &profileValues{attributes: []keyed{{key: "score", vals: []string{v}}}}
		if _, err := appendValues(nil, p, map[string]*attr.Definition{"score": f}); err == nil || !strings.Contains(err.Error(), "attribute score") {
			t.Errorf("%s: %v", v, err)
		}
		if _, err := json.Marshal(math.NaN()); err == nil {
			t.Fatal("json.Marshal took NaN")
		}
	}
}
