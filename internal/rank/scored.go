package rank

// Scored is one insertion's score: Index is its place in the request's
// insertions, Parts what the score is made of (shown as introspection
// data when the request asks for it), Filtered whether it is served.
type Scored struct {
	Index int
	Score float64
	Parts Parts
	// Filtered says a segment filter rule leaves the insertion out: it
	// is not served.
	Filtered bool
}

// Parts are the weighted parts of a score; Score is their sum.
// Personalization is the use case's personalization weight times the sum
// of the Rules; Rules lists every rule of the use case when the user is
// known and personalization is on, and is empty otherwise.
type Parts struct {
	Retrieval       float64     `json:"retrieval"`
	Engagement      float64     `json:"engagement"`
	Personalization float64     `json:"personalization"`
	Rules           []RuleScore `json:"rules,omitempty"`
}

// RuleScore is what one personalization rule gave an insertion, its
// weight applied: the rule's weight for an equal match, weight × the
// user's number × the insertion's number for a scale rule, else 0.
type RuleScore struct {
	Rule  string  `json:"rule"`
	Score float64 `json:"score"`
}
