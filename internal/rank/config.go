package rank

import "time"

// Delivery configures the Delivery API (POST /deliver) and the Metrics
// API (POST /log), packages delivery and rank: weft.yaml's delivery
// section, which package config parses and validates.
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
	Identifiers Identifiers `json:"identifiers,omitzero" yaml:"identifiers,omitempty"`
	// UseCases rank by use case name (SEARCH, FEED, ... as in the
	// delivery.UseCase enum); "default" ranks the others.
	UseCases map[string]UseCase `json:"use_cases,omitempty" yaml:"use_cases,omitempty"`
	// PseudonymizeUserID stores delivery events with userInfo.userId
	// replaced by a keyed hash of it, as Promoted's long-term logs keep
	// it. The key derives from the server's secret key, never from the
	// config; one link event per user (type user_pseudonym) keeps them
	// stitched to the user's other events.
	PseudonymizeUserID bool `json:"pseudonymize_user_id,omitempty" yaml:"pseudonymize_user_id,omitempty"`
}

// UserIDPseudonymCategory is the stitching category of the pseudonyms of
// userInfo.userId (Delivery.PseudonymizeUserID).
const UserIDPseudonymCategory = "user_id_pseudonym"

// Identifiers name stitching categories.
type Identifiers struct {
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
	// Rules match insertion properties to the user's attributes, plugin
	// properties and segments; segment rules may filter instead.
	Rules []Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
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

// Segment rule filters: what happens to the insertions whose item is true.
const (
	// FilterKeep serves them to the segment's members only.
	FilterKeep = "keep"
	// FilterDrop serves them to everyone but the segment's members.
	FilterDrop = "drop"
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

// Rule adds to an insertion's score when one of its properties
// matches what Weft knows of the user.
type Rule struct {
	// Name labels the rule in introspection data (default
	// <item>=<attribute, property or segment>).
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Item is the insertion property (a dotted path into properties).
	Item string `json:"item" yaml:"item"`
	// Attribute or Property (exactly one) is the user's side: an
	// attribute id, or a plugin property: its exact id
	// <plugin>/<run-timestamp>/<name>, or <plugin>/<name> for the latest
	// published run's property of that name.
	Attribute string `json:"attribute,omitempty" yaml:"attribute,omitempty"`
	Property  string `json:"property,omitempty" yaml:"property,omitempty"`
	// Segment, instead of Attribute or Property, is the id of a segment:
	// the user's value is true for its members (and 1 for a scale rule);
	// non-members have none. An equal rule adds its weight to the
	// insertions whose item is true (or 1) when the user is a member.
	Segment string `json:"segment,omitempty" yaml:"segment,omitempty"`
	// Filter makes a segment rule a filter (FilterKeep or FilterDrop) of
	// the insertions whose item is true (or 1), instead of a score.
	Filter string `json:"filter,omitempty" yaml:"filter,omitempty"`
	// Match is equal (default) or scale; see MatchEqual and MatchScale.
	Match string `json:"match,omitempty" yaml:"match,omitempty"`
	// Weight of a match (default 1).
	Weight *float64 `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// Label is Name, or the default <item>=<attribute, property or segment>.
func (r *Rule) Label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Item + "=" + r.Attribute + r.Property + r.Segment
}

// WeightOrDefault is Weight, or 1.
func (r *Rule) WeightOrDefault() float64 { return orOne(r.Weight) }

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
	PagingTTLDefault   = 30 * time.Minute
	RefreshDefault     = 30 * time.Second
	MemoryBytesDefault = 256 << 20
	UserIDDefault      = "user_id"
	AnonUserIDDefault  = "anon_user_id"
	// UseCaseDefault ranks the use cases not configured by name.
	UseCaseDefault = "default"
)

// PagingTTLOrDefault is PagingTTL parsed, or its default.
func (d *Delivery) PagingTTLOrDefault() time.Duration {
	return durationOr(d.PagingTTL, PagingTTLDefault)
}

// RefreshOrDefault is Refresh parsed, or its default.
func (d *Delivery) RefreshOrDefault() time.Duration {
	return durationOr(d.Refresh, RefreshDefault)
}

// MemoryBytesOrDefault is MemoryBytes, or its default.
func (d *Delivery) MemoryBytesOrDefault() int64 {
	if d.MemoryBytes > 0 {
		return d.MemoryBytes
	}
	return MemoryBytesDefault
}

// UserIDCategory is the stitching category of userInfo.userId.
func (d *Delivery) UserIDCategory() string {
	if d.Identifiers.UserID != "" {
		return d.Identifiers.UserID
	}
	return UserIDDefault
}

// AnonUserIDCategory is the stitching category of userInfo.anonUserId.
func (d *Delivery) AnonUserIDCategory() string {
	if d.Identifiers.AnonUserID != "" {
		return d.Identifiers.AnonUserID
	}
	return AnonUserIDDefault
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
