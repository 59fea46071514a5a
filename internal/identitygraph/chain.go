package identitygraph

import (
	"context"
	"fmt"

	"github.com/weftdata/weft/internal/stitch"
)

// NotInEntityError is returned by Chain for an identifier the entity does
// not hold.
type NotInEntityError struct {
	Entity string
	Key    Key
}

func (e *NotInEntityError) Error() string {
	return fmt.Sprintf("entity %s does not hold identifier %s", e.Entity, e.Key)
}

// Path is the shortest chain of links that joins two identifiers of an
// entity: identifier, event, identifier, ..., each event carrying the
// identifiers either side of it. Steps is empty when no chain was found
// among the events read (Truncated says whether some were left out).
type Path struct {
	EntityID  string `json:"entity_id"`
	From      Key    `json:"from"`
	To        Key    `json:"to"`
	Steps     []Step `json:"chain"`
	Truncated bool   `json:"truncated"`
}

// Step is one step of a chain: an identifier or an event (with the rule
// that read the next identifier from it).
type Step struct {
	Identifier *Key      `json:"identifier,omitempty"`
	Event      *EventRef `json:"event,omitempty"`
}

// Chain finds the shortest chain of links from one identifier of a live
// entity to another, by breadth-first search over identifier, event,
// identifier. An identifier the entity does not hold is an
// *NotInEntityError.
func Chain(ctx context.Context, db Store, id string, eventsCount int64, rules stitch.Config, from, to Key) (*Path, error) {
	r, err := read(ctx, db, id, rules, ChainIdentifiersMax)
	if err != nil {
		return nil, err
	}
	p := &Path{EntityID: id, From: from, To: to, Steps: []Step{}, Truncated: eventsCount > EventsMax || r.moreHeld}
	for _, k := range []Key{from, to} {
		if !r.isHeld[k] && !holds(ctx, db, id, k, r) {
			return nil, &NotInEntityError{Entity: id, Key: k}
		}
	}
	p.Steps = r.search(from, to)
	return p, nil
}

// holds says whether an identifier beyond the ones read is the entity's:
// for an entity with more than ChainIdentifiersMax of them.
func holds(ctx context.Context, db Store, id string, k Key, r *reading) bool {
	if !r.moreHeld {
		return false
	}
	states, err := db.ProfileLinkStates(ctx, []string{k.Category}, []string{k.Value})
	return err == nil && len(states) == 1 && states[0].EntityID == id
}

// search is the breadth-first search; the rows carry the edges.
func (r *reading) search(from, to Key) []Step {
	byKey := map[Key][]int{}   // rows of each identifier
	bySeq := map[int64][]int{} // rows of each event
	for i, row := range r.rows {
		k := Key{row.Category, row.Value}
		byKey[k] = append(byKey[k], i)
		bySeq[row.Seq] = append(bySeq[row.Seq], i)
	}
	// prev[k] is the row (event and identifier) the search reached k by.
	prev := map[Key]int{from: -1}
	queue := []Key{from}
	visited := map[int64]bool{}
	for len(queue) > 0 && !contains(prev, to) {
		k := queue[0]
		queue = queue[1:]
		for _, i := range byKey[k] {
			seq := r.rows[i].Seq
			if visited[seq] {
				continue
			}
			visited[seq] = true
			for _, j := range bySeq[seq] {
				next := Key{r.rows[j].Category, r.rows[j].Value}
				if _, ok := prev[next]; !ok && (r.isHeld[next] || next == to) {
					prev[next] = i
					queue = append(queue, next)
				}
			}
		}
	}
	if !contains(prev, to) {
		return []Step{}
	}
	var rev []Step
	for k := to; ; {
		kk := k
		rev = append(rev, Step{Identifier: &kk})
		i := prev[k]
		if i < 0 {
			break
		}
		e := ref(r.rows[i])
		rev = append(rev, Step{Event: &e})
		k = Key{r.rows[i].Category, r.rows[i].Value}
	}
	steps := make([]Step, len(rev))
	for i, s := range rev {
		steps[len(rev)-1-i] = s
	}
	return steps
}

func contains(m map[Key]int, k Key) bool {
	_, ok := m[k]
	return ok
}
