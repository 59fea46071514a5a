package rank

// Scored is one insertion's score: Index is its place in the request's
// insertions, Parts what the score is made of (shown as introspection
// data when the request asks for it).
type Scored struct {
	Index int
	Score float64
	Parts Parts
}

// Parts are the weighted parts of a score; Score is their sum.
type Parts struct {
	Retrieval       float64            `json:"retrieval"`
	Engagement      float64            `json:"engagement"`
	Personalization float64            `json:"personalization"`
	Rules           map[string]float64 `json:"rules,omitempty"`
}
