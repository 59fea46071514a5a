package stitch

import (
	"context"
	"encoding/json"
	"fmt"
)

// constraints are what an operator decided by hand (stitch_constraints),
// honoured by every pass: blocked identifiers never link, manual merges
// are links decided first, and the two sides of a manual split never join.
type constraints struct {
	blocked map[identKey]string // -> the constraint's id
	merges  []manualMerge
	splits  []manualSplit
	// sides lists, per identifier, the split sides it is on.
	sides map[identKey][]splitSide
	// anchors are the events of the merges.
	anchors map[string]bool
}

type manualMerge struct {
	id     string
	events []string
}

type manualSplit struct {
	id     string
	entity string
}

// constraintSpec is the spec column of the three kinds.
type constraintSpec struct {
	Category    string         `json:"category"`
	Value       string         `json:"value"`
	Events      []string       `json:"events"`
	Identifiers []specIdentKey `json:"identifiers"`
	ApartFrom   []specIdentKey `json:"apart_from"`
	Entity      string         `json:"entity"`
}

type specIdentKey struct {
	Category string `json:"category"`
	Value    string `json:"value"`
}

// loadConstraints reads stitch_constraints. Identifiers of categories the
// config does not have are left out: they cannot link.
func (e *Engine) loadConstraints(ctx context.Context) (*constraints, error) {
	c := &constraints{blocked: map[identKey]string{}, sides: map[identKey][]splitSide{}, anchors: map[string]bool{}}
	rows, err := e.db.QueryContext(ctx, `SELECT id, kind, spec FROM stitch_constraints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("read stitching constraints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind, spec string
		if err := rows.Scan(&id, &kind, &spec); err != nil {
			return nil, err
		}
		var s constraintSpec
		if err := json.Unmarshal([]byte(spec), &s); err != nil {
			return nil, fmt.Errorf("stitching constraint %s: spec: %w", id, err)
		}
		switch kind {
		case "block":
			if k, ok := e.key(s.Category, s.Value); ok {
				c.blocked[k] = id
			}
		case "merge":
			if len(s.Events) >= 2 {
				c.merges = append(c.merges, manualMerge{id: id, events: s.Events})
				for _, ev := range s.Events {
					c.anchors[ev] = true
				}
			}
		case "split":
			n := len(c.splits)
			c.splits = append(c.splits, manualSplit{id: id, entity: s.Entity})
			for side, keys := range [][]specIdentKey{s.Identifiers, s.ApartFrom} {
				for _, sk := range keys {
					if k, ok := e.key(sk.Category, sk.Value); ok {
						c.sides[k] = append(c.sides[k], splitSide{split: n, side: side})
					}
				}
			}
		default:
			return nil, fmt.Errorf("stitching constraint %s: unknown kind %q", id, kind)
		}
	}
	return c, rows.Err()
}

func (e *Engine) key(category, value string) (identKey, bool) {
	c, ok := e.catIx[category]
	return identKey{c, value}, ok
}

// isBlocked reports whether k never links, by the config or by hand.
func (e *Engine) isBlocked(k identKey) bool {
	if bl := e.block[k.cat]; bl.values[k.value] || (bl.pattern != nil && bl.pattern.MatchString(k.value)) {
		return true
	}
	_, ok := e.cons.blocked[k]
	return ok
}

// constrained reports whether a constraint other than a block names k.
func (c *constraints) constrained(k identKey) bool {
	_, ok := c.sides[k]
	return ok
}
