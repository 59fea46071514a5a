package config

import (
	"fmt"
	"slices"

	"github.com/weftdata/weft/internal/rank"
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

// With delivery.pseudonymize_user_id, package delivery stores the
// delivery events of a user with their userInfo.userId replaced by its
// pseudonym, also in the field PseudonymField, and appends once per user
// an event of type PseudonymEventType that holds the userId and its
// pseudonym: the link, made at write time, between the pseudonymised
// events and the user's events of other sources.
const (
	PseudonymField     = "userIdPseudonym"
	PseudonymEventType = "user_pseudonym"
)

// pseudonymRules are the delivery rules (user id first) when userIds are
// pseudonymised: the user id category reads the userId of the link
// events and of events stored before, never a pseudonym, and the
// pseudonym category (rank.UserIDPseudonymCategory) reads the pseudonym
// of both the pseudonymised events and the link events.
func pseudonymRules(rules []stitch.Rule) []stitch.Rule {
	out := slices.Clone(rules)
	out[0].ValueExpression = "CASE WHEN type = '" + PseudonymEventType + "' OR (payload->>'" + PseudonymField + "') IS NULL THEN " +
		rules[0].ValueExpression + " END"
	return append(out, stitch.Rule{Identifier: rank.UserIDPseudonymCategory, Event: rules[0].Event,
		ValueExpression: "payload->>'" + PseudonymField + "'"})
}
