package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"time"

	"github.com/weftdata/weft/internal/rank"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/stitch"
)

// useCaseNames are the delivery.UseCase enum names, and "default".
var useCaseNames = map[string]bool{
	rank.UseCaseDefault: true, "UNKNOWN_USE_CASE": true, "CUSTOM": true, "SEARCH": true,
	"SEARCH_SUGGESTIONS": true, "FEED": true, "RELATED_CONTENT": true, "CLOSE_UP": true,
	"CATEGORY_CONTENT": true, "MY_CONTENT": true, "MY_SAVED_CONTENT": true,
	"SELLER_CONTENT": true, "DISCOVER": true,
}

var itemPath = regexp.MustCompile(`^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$`)

func validateDelivery(d *rank.Delivery, attrs map[string]bool, segments []segment.Definition) error {
	at := func(field string, format string, args ...any) error {
		return &Error{Field: "delivery." + field, Err: fmt.Errorf(format, args...)}
	}
	for i, k := range d.APIKeys {
		if k == "" {
			return at(fmt.Sprintf("api_keys[%d]", i), "an API key must not be empty")
		}
	}
	for _, f := range []struct{ name, value string }{{"paging_ttl", d.PagingTTL}, {"refresh", d.Refresh}} {
		if f.value == "" {
			continue
		}
		if v, err := time.ParseDuration(f.value); err != nil || v <= 0 {
			return at(f.name, "%q is not a positive Go duration (such as 30s or 30m)", f.value)
		}
	}
	if d.MemoryBytes < 0 {
		return at("memory_bytes", "must not be negative")
	}
	if err := validateIdentifiers(d); err != nil {
		return err
	}
	segs := make(map[string]bool, len(segments))
	for _, s := range segments {
		segs[s.ID] = true
	}
	for _, n := range sortedKeys(d.UseCases) {
		if !useCaseNames[n] {
			return at("use_cases."+n, "unknown use case; give a delivery.UseCase name (SEARCH, FEED, ...) or default")
		}
		if err := validateUseCase(d.UseCases[n], attrs, segs); err != nil {
			return at("use_cases."+n+err.field, "%s", err.msg)
		}
	}
	return nil
}

func validateIdentifiers(d *rank.Delivery) error {
	for _, c := range []struct{ name, value string }{{"identifiers.user_id", d.Identifiers.UserID}, {"identifiers.anon_user_id", d.Identifiers.AnonUserID}} {
		if c.value != "" && !categoryName.MatchString(c.value) {
			return &Error{Field: "delivery." + c.name, Err: fmt.Errorf("%q is not a stitching category (lower case letters, digits and _)", c.value)}
		}
	}
	return nil
}

// useCaseError is a use case's fault: a field below it and a message.
type useCaseError struct{ field, msg string }

func validateUseCase(u rank.UseCase, attrs, segs map[string]bool) *useCaseError {
	fail := func(field, format string, args ...any) *useCaseError {
		return &useCaseError{field: field, msg: fmt.Sprintf(format, args...)}
	}
	for _, w := range []struct {
		name string
		v    *float64
	}{{"retrieval_weight", u.RetrievalWeight}, {"engagement_weight", u.EngagementWeight},
		{"personalization_weight", u.PersonalizationWeight}, {"engagement_prior", u.EngagementPrior}} {
		if w.v != nil && !finite(*w.v) {
			return fail("."+w.name, "must be a finite number")
		}
	}
	if u.EngagementPrior != nil && *u.EngagementPrior < 0 {
		return fail(".engagement_prior", "must not be negative")
	}
	for _, k := range sortedKeys(u.ActionWeights) {
		if k == "" || !finite(u.ActionWeights[k]) {
			return fail(".action_weights."+k, "give an action type name and a finite weight")
		}
	}
	for i, r := range u.Rules {
		field := fmt.Sprintf(".rules[%d]", i)
		switch {
		case !itemPath.MatchString(r.Item):
			return fail(field+".item", "%q is not a property path (names joined by dots)", r.Item)
		case countSet(r.Attribute, r.Property, r.Segment) != 1:
			return fail(field, "give exactly one of attribute and property (or a segment)")
		case r.Segment != "" && !segs[r.Segment]:
			return fail(field+".segment", "%q is not a declared segment", r.Segment)
		case r.Attribute != "" && !attrs[r.Attribute]:
			return fail(field+".attribute", "%q is not a declared attribute", r.Attribute)
		case r.Property != "" && !propertyRef.MatchString(r.Property):
			return fail(field+".property", "%q is not a property reference (<plugin>/<name> or <plugin>/<run-timestamp>/<name>)", r.Property)
		case r.Match != "" && r.Match != rank.MatchEqual && r.Match != rank.MatchScale:
			return fail(field+".match", "%q is not a match kind (equal, scale)", r.Match)
		case r.Weight != nil && !finite(*r.Weight):
			return fail(field+".weight", "must be a finite number")
		}
		if err := validateFilter(r, field); err != nil {
			return err
		}
	}
	return nil
}

// validateFilter checks a rule's filter: segment rules only, keep or drop,
// an equal match, no weight.
func validateFilter(r rank.Rule, field string) *useCaseError {
	if r.Filter == "" {
		return nil
	}
	msg := ""
	switch {
	case r.Filter != rank.FilterKeep && r.Filter != rank.FilterDrop:
		msg = fmt.Sprintf("%q is not a filter (keep, drop)", r.Filter)
	case r.Segment == "":
		msg = "only a segment rule filters"
	case r.Match == rank.MatchScale:
		msg = "a filter keeps or drops the insertions whose item is true: it has no scale match"
	case r.Weight != nil:
		msg = "a filter keeps or drops insertions: it has no weight"
	default:
		return nil
	}
	return &useCaseError{field: field + ".filter", msg: msg}
}

// countSet counts the values that are not empty.
func countSet(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// propertyRef is <plugin>/<name> or <plugin>/<run-timestamp>/<name>;
// property names hold no slash or control character.
var propertyRef = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,47}(/[0-9]{8}T[0-9]{6}Z)?/[^/\x00-\x1f\x7f]+$`)

var categoryName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// DeliverySourceID is the source of the events the Delivery and Metrics
// APIs append to the log.
const DeliverySourceID = "delivery"

// deliveryStitchingRules are the rules derived from the delivery section: in
// every delivery event, userInfo.userId is a value of UserIDCategory and
// userInfo.anonUserId of AnonUserIDCategory, so that delivery events
// stitch without rules written by hand. A delivery_log keeps its userInfo
// in its request (DeliveryLog has no userInfo field). One rule per
// category over every type of the source keeps the cost of a stitching
// pass to two more scans of its events, delivery or not.
func deliveryStitchingRules(d *rank.Delivery) []stitch.Rule {
	event := DeliverySourceID + "/*"
	value := func(field string) string {
		return "COALESCE(payload->'userInfo'->>'" + field + "', payload->'request'->'userInfo'->>'" + field + "')"
	}
	rules := []stitch.Rule{
		{Identifier: d.UserIDCategory(), Event: event, ValueExpression: value("userId")},
		{Identifier: d.AnonUserIDCategory(), Event: event, ValueExpression: value("anonUserId")},
	}
	if d.PseudonymizeUserID {
		return pseudonymRules(rules)
	}
	return rules
}
