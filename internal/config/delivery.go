package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"time"

	"github.com/weftdata/weft/internal/stitch"
)

// Delivery configures the Delivery API (POST /deliver) and the Metrics
// API (POST /log), packages delivery and rank.
type Delivery struct {
	// APIKeys are accepted in x-api-key on /deliver and /log. Empty: the
	// server's own API keys (--api-key); none anywhere: open.
	APIKeys []string `json:"api_keys,omitempty" yaml:"api_keys,omitempty"`
	// PagingTTL is how long the pages of one request context stay
	// consistent (Go duration, default 30m).
	PagingTTL string `json:"paging_ttl,omitempty" yaml:"paging_ttl,omitempty"`
	// NonKeyProperties are request properties left out of the paging key
	// (volatile ones, such as a timestamp).
	NonKeyProperties []string `json:"non_key_properties,omitempty" yaml:"non_key_properties,omitempty"`
	// Refresh is how often the in-memory ranking state is reloaded from
	// the store (Go duration, default 30s).
	Refresh string `json:"refresh,omitempty" yaml:"refresh,omitempty"`
	// MemoryBytes caps the in-memory ranking state (default 256 MiB).
	MemoryBytes int64 `json:"memory_bytes,omitempty" yaml:"memory_bytes,omitempty"`
	// Identifiers are the stitching categories that userInfo.userId and
	// userInfo.anonUserId are values of.
	Identifiers DeliveryIdentifiers `json:"identifiers,omitzero" yaml:"identifiers,omitempty"`
	// UseCases rank by use case name (SEARCH, FEED, ... as in the
	// delivery.UseCase enum); "default" ranks the others.
	UseCases map[string]UseCase `json:"use_cases,omitempty" yaml:"use_cases,omitempty"`
}

// DeliveryIdentifiers name stitching categories.
type DeliveryIdentifiers struct {
	// UserID is the category of userInfo.userId (default user_id).
	UserID string `json:"user_id,omitempty" yaml:"user_id,omitempty"`
	// AnonUserID is the category of userInfo.anonUserId (default
	// anon_user_id).
	AnonUserID string `json:"anon_user_id,omitempty" yaml:"anon_user_id,omitempty"`
}

// UseCase is how one use case ranks (package rank).
type UseCase struct {
	// Weights of the score parts; nil means 1.
	RetrievalWeight       *float64 `json:"retrieval_weight,omitempty" yaml:"retrieval_weight,omitempty"`
	EngagementWeight      *float64 `json:"engagement_weight,omitempty" yaml:"engagement_weight,omitempty"`
	PersonalizationWeight *float64 `json:"personalization_weight,omitempty" yaml:"personalization_weight,omitempty"`
	// EngagementPrior is how many impressions of the global action rate
	// an item's own counts are smoothed with (default 20): an item with no
	// impressions scores the neutral 0.5, one with many its own rate.
	EngagementPrior *float64 `json:"engagement_prior,omitempty" yaml:"engagement_prior,omitempty"`
	// ActionWeights weigh the logged actions by action type name
	// (NAVIGATE, ADD_TO_CART, PURCHASE, ... as in the event.ActionType
	// enum) or custom action type name. A custom action without its own
	// weight takes CUSTOM_ACTION_TYPE's; any other action type not listed
	// weighs 1, except the undoing ones (ActionTypesUndoing), which weigh 0.
	ActionWeights map[string]float64 `json:"action_weights,omitempty" yaml:"action_weights,omitempty"`
	// Rules match insertion properties to the user's attributes and
	// plugin properties.
	Rules []RankRule `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// ActionTypesUndoing are the action types that take engagement back; by
// default they weigh 0 in UseCase.ActionWeights.
var ActionTypesUndoing = []string{"REMOVE_FROM_CART", "UNLIKE", "REMOVE_BOOKMARK",
	"REMOVE_FROM_LIST", "UNFOLLOW", "CANCEL_PURCHASE", "REFUND_PURCHASE"}

// Rank rule match kinds.
const (
	// MatchEqual adds the rule's weight when the insertion's value equals
	// one of the user's values (as text, or as numbers when both are).
	MatchEqual = "equal"
	// MatchScale adds weight × the user's number × the insertion's number
	// (true counts 1): an affinity, such as price_sensitivity × discount.
	MatchScale = "scale"
)

// Defaults of a use case.
const (
	EngagementPriorDefault = 20
)

// EngagementPriorOrDefault is EngagementPrior, or its default.
func (u *UseCase) EngagementPriorOrDefault() float64 {
	if u.EngagementPrior != nil {
		return *u.EngagementPrior
	}
	return EngagementPriorDefault
}

// RankRule adds to an insertion's score when one of its properties
// matches what Weft knows of the user.
type RankRule struct {
	// Name labels the rule in introspection data (default
	// <item>=<attribute or property>).
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Item is the insertion property (a dotted path into properties).
	Item string `json:"item" yaml:"item"`
	// Attribute or Property (exactly one) is the user's side: an
	// attribute id, or a plugin property: its exact id
	// <plugin>/<run-timestamp>/<name>, or <plugin>/<name> for the latest
	// published run's property of that name.
	Attribute string `json:"attribute,omitempty" yaml:"attribute,omitempty"`
	Property  string `json:"property,omitempty" yaml:"property,omitempty"`
	// Match is equal (default) or scale; see MatchEqual and MatchScale.
	Match string `json:"match,omitempty" yaml:"match,omitempty"`
	// Weight of a match (default 1).
	Weight *float64 `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// Label is Name, or the default <item>=<attribute or property>.
func (r *RankRule) Label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Item + "=" + r.Attribute + r.Property
}

// WeightOrDefault is Weight, or 1.
func (r *RankRule) WeightOrDefault() float64 { return orOne(r.Weight) }

// Weights are the use case's part weights, nil ones 1.
func (u *UseCase) Weights() (retrieval, engagement, personalization float64) {
	return orOne(u.RetrievalWeight), orOne(u.EngagementWeight), orOne(u.PersonalizationWeight)
}

func orOne(w *float64) float64 {
	if w == nil {
		return 1
	}
	return *w
}

// Delivery defaults.
const (
	DeliveryPagingTTLDefault   = 30 * time.Minute
	DeliveryRefreshDefault     = 30 * time.Second
	DeliveryMemoryBytesDefault = 256 << 20
	DeliveryUserIDDefault      = "user_id"
	DeliveryAnonUserIDDefault  = "anon_user_id"
	// UseCaseDefault ranks the use cases not configured by name.
	UseCaseDefault = "default"
)

// PagingTTLOrDefault is PagingTTL parsed, or its default.
func (d *Delivery) PagingTTLOrDefault() time.Duration {
	return durationOr(d.PagingTTL, DeliveryPagingTTLDefault)
}

// RefreshOrDefault is Refresh parsed, or its default.
func (d *Delivery) RefreshOrDefault() time.Duration {
	return durationOr(d.Refresh, DeliveryRefreshDefault)
}

// MemoryBytesOrDefault is MemoryBytes, or its default.
func (d *Delivery) MemoryBytesOrDefault() int64 {
	if d.MemoryBytes > 0 {
		return d.MemoryBytes
	}
	return DeliveryMemoryBytesDefault
}

// UserIDCategory is the stitching category of userInfo.userId.
func (d *Delivery) UserIDCategory() string {
	if d.Identifiers.UserID != "" {
		return d.Identifiers.UserID
	}
	return DeliveryUserIDDefault
}

// AnonUserIDCategory is the stitching category of userInfo.anonUserId.
func (d *Delivery) AnonUserIDCategory() string {
	if d.Identifiers.AnonUserID != "" {
		return d.Identifiers.AnonUserID
	}
	return DeliveryAnonUserIDDefault
}

func durationOr(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return def // Validate refused it
	}
	return d
}

// useCaseNames are the delivery.UseCase enum names, and "default".
var useCaseNames = map[string]bool{
	UseCaseDefault: true, "UNKNOWN_USE_CASE": true, "CUSTOM": true, "SEARCH": true,
	"SEARCH_SUGGESTIONS": true, "FEED": true, "RELATED_CONTENT": true, "CLOSE_UP": true,
	"CATEGORY_CONTENT": true, "MY_CONTENT": true, "MY_SAVED_CONTENT": true,
	"SELLER_CONTENT": true, "DISCOVER": true,
}

var itemPath = regexp.MustCompile(`^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$`)

func validateDelivery(d *Delivery, attrs map[string]bool) error {
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
	if err := d.validateIdentifiers(); err != nil {
		return err
	}
	for _, n := range sortedKeys(d.UseCases) {
		if !useCaseNames[n] {
			return at("use_cases."+n, "unknown use case; give a delivery.UseCase name (SEARCH, FEED, ...) or default")
		}
		if err := validateUseCase(d.UseCases[n], attrs); err != nil {
			return at("use_cases."+n+err.field, "%s", err.msg)
		}
	}
	return nil
}

func (d *Delivery) validateIdentifiers() error {
	for _, c := range []struct{ name, value string }{{"identifiers.user_id", d.Identifiers.UserID}, {"identifiers.anon_user_id", d.Identifiers.AnonUserID}} {
		if c.value != "" && !categoryName.MatchString(c.value) {
			return &Error{Field: "delivery." + c.name, Err: fmt.Errorf("%q is not a stitching category (lower case letters, digits and _)", c.value)}
		}
	}
	return nil
}

// useCaseError is a use case's fault: a field below it and a message.
type useCaseError struct{ field, msg string }

func validateUseCase(u UseCase, attrs map[string]bool) *useCaseError {
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
		case (r.Attribute == "") == (r.Property == ""):
			return fail(field, "give exactly one of attribute and property")
		case r.Attribute != "" && !attrs[r.Attribute]:
			return fail(field+".attribute", "%q is not a declared attribute", r.Attribute)
		case r.Property != "" && !propertyRef.MatchString(r.Property):
			return fail(field+".property", "%q is not a property reference (<plugin>/<name> or <plugin>/<run-timestamp>/<name>)", r.Property)
		case r.Match != "" && r.Match != MatchEqual && r.Match != MatchScale:
			return fail(field+".match", "%q is not a match kind (equal, scale)", r.Match)
		case r.Weight != nil && !finite(*r.Weight):
			return fail(field+".weight", "must be a finite number")
		}
	}
	return nil
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

// StitchingRules are the rules derived from the delivery section: in
// every delivery event, userInfo.userId is a value of UserIDCategory and
// userInfo.anonUserId of AnonUserIDCategory, so that delivery events
// stitch without rules written by hand. A delivery_log keeps its userInfo
// in its request (DeliveryLog has no userInfo field). One rule per
// category over every type of the source keeps the cost of a stitching
// pass to two more scans of its events, delivery or not.
func (d *Delivery) StitchingRules() []stitch.Rule {
	event := DeliverySourceID + "/*"
	value := func(field string) string {
		return "COALESCE(payload->'userInfo'->>'" + field + "', payload->'request'->'userInfo'->>'" + field + "')"
	}
	return []stitch.Rule{
		{Identifier: d.UserIDCategory(), Event: event, ValueExpression: value("userId")},
		{Identifier: d.AnonUserIDCategory(), Event: event, ValueExpression: value("anonUserId")},
	}
}
