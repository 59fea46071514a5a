package config

import (
	"fmt"

	"github.com/weftdata/weft/internal/stitch"
)

// ruleKey is what Meiro's unique index on stitching_attributes_config
// (event_id, attribute_id) keeps unique: a category and the event read,
// as written (web/signup and web/signup/1-0-0 read different events).
type ruleKey struct{ identifier, event string }

// checkDuplicateRules refuses two rules of one identifier category over
// one event, as that unique index does: the second would only hide a
// mistake (which of the two expressions was meant?). rules are the
// effective rules; the first written of them are stitching.rules, the
// others derived from the delivery and segments sections.
func checkDuplicateRules(rules []stitch.Rule, written int) error {
	seen := make(map[ruleKey]int, len(rules))
	for i, r := range rules {
		k := ruleKey{r.Identifier, r.Event}
		first, dup := seen[k]
		if !dup {
			seen[k] = i
			continue
		}
		return &Error{Field: ruleName(rules, first, written), Err: fmt.Errorf(
			"%s also reads identifier %s from event %s: one rule per identifier and event (as Meiro's unique index on event_id, attribute_id); "+
				"join their expressions into one, a set-returning json_array_elements_text(json_build_array(a, b)) yields both",
			ruleName(rules, i, written), r.Identifier, r.Event)}
	}
	return nil
}

// ruleName names the i-th effective rule for an error.
func ruleName(rules []stitch.Rule, i, written int) string {
	if i < written {
		return fmt.Sprintf("stitching.rules[%d] (%s from %s)", i, rules[i].Identifier, rules[i].Event)
	}
	return fmt.Sprintf("the rule derived from the config (%s from %s)", rules[i].Identifier, rules[i].Event)
}
