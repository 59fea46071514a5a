package plugin

import (
	"database/sql"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/attr"
)

// Goal is a binary label: the user has an event of EventType
// (source/type/version) up to data_now (y_timestamp: its first time), or
// the user's attribute meets a condition (y_timestamp null: attribute
// values carry no time). Exactly one of EventType and Attribute is set.
type Goal struct {
	EventType string `json:"event_type,omitempty"`
	// Attribute is the attribute's id, DataType its data type (attr.Data*),
	// Op one of GoalOps and Value the operand as config normalized
	// it (float64, bool or text). A user without the attribute meets no
	// condition but is_set's negation: "!=" is false there too.
	Attribute string `json:"attribute,omitempty"`
	DataType  string `json:"data_type,omitempty"`
	Op        string `json:"op,omitempty"`
	Value     any    `json:"value,omitempty"`
}

// Met tells whether a stored attribute value (text, NULL when the user
// has none) meets an attribute goal. Values that do not parse as the
// data type meet nothing.
func (g *Goal) Met(v sql.NullString) bool {
	if !v.Valid {
		return false
	}
	if g.Op == "is_set" {
		return true
	}
	var c int
	switch g.DataType {
	case attr.DataInt, attr.DataFloat:
		x, err := strconv.ParseFloat(v.String, 64)
		y, ok := g.Value.(float64)
		if err != nil || !ok || math.IsNaN(x) {
			return false
		}
		c = cmpFloat(x, y)
	case attr.DataBool:
		x, err := strconv.ParseBool(v.String)
		y, ok := g.Value.(bool)
		if err != nil || !ok {
			return false
		}
		c = map[bool]int{true: 0, false: 1}[x == y]
	case attr.DataDate:
		y, _ := g.Value.(string)
		if len(v.String) < 10 {
			return false
		}
		c = strings.Compare(v.String[:10], y)
	case attr.DataDatetime:
		s, _ := attr.JSONValueOf(attr.DataDatetime, v.String).(string)
		x, err1 := time.Parse(time.RFC3339Nano, s)
		ys, _ := g.Value.(string)
		y, err2 := time.Parse(time.RFC3339Nano, ys)
		if err1 != nil || err2 != nil {
			return false
		}
		c = x.Compare(y)
	default:
		y, _ := g.Value.(string)
		c = map[bool]int{true: 0, false: 1}[v.String == y]
	}
	switch g.Op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
