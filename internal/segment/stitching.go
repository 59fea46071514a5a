package segment

import (
	"slices"

	"github.com/weftdata/weft/internal/stitch"
)

// How membership events reach their entity: the segments job appends
// them to the event log (source weft), each naming in its payload the
// entity's oldest identifier (identifier_category, identifier_value) of a
// category stitching reads; these rules, one per category, derived when
// segments are declared, read it back, so stitching gives the event to
// the entity holding that identifier, as it would give any event. The
// events then count as the entity's own: attributes, plugin features and
// event conditions of other segments read them. An entity without an
// identifier (none of its events carried one) gets no events, only the
// rows of segment_changes.

// StitchingRules are the stitching rules that read membership events:
// one per identifier category of rules.
func StitchingRules(rules []stitch.Rule) []stitch.Rule {
	var cats []string
	for _, r := range rules {
		if !slices.Contains(cats, r.Identifier) {
			cats = append(cats, r.Identifier)
		}
	}
	slices.Sort(cats)
	out := make([]stitch.Rule, len(cats))
	for i, c := range cats {
		out[i] = stitch.Rule{Identifier: c, Event: EventSource + "/*",
			ValueExpression: "CASE WHEN payload->>'identifier_category' = " + quote(c) + " THEN payload->>'identifier_value' END"}
	}
	return out
}
