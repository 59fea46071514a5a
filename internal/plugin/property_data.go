package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// BatchData is a validated data.json of a batch stage (the seed's shape):
//
//	{"category": "Scores", "properties": ["Class", "Rating"],
//	 "updates": [["user_1", "A", 0.43], ["user_2", "B", null]]}
//
// Each update is the user id (a customer entity id, as the dataset's
// user_id) then one value per property: a number, a string, a boolean, or
// null for no value. A property's values share one type.
type BatchData struct {
	Category   string
	Properties []PropertyDecl
	// Rows holds the user ids; Values[i][j] the JSON of property j for
	// row i, nil for null.
	Rows   []string
	Values [][]json.RawMessage
}

// PropertyDecl is a property a batch writes and the type of its values
// ("" while it has only nulls).
type PropertyDecl struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func dataErr(format string, args ...any) error {
	return &InputError{Code: "invalid_data", Message: "data.json: " + fmt.Sprintf(format, args...)}
}

// ParseBatchData reads and validates a data.json; errors name the key,
// row and column.
func ParseBatchData(r io.Reader) (*BatchData, error) {
	var raw struct {
		Category   *string             `json:"category"`
		Properties []string            `json:"properties"`
		Updates    [][]json.RawMessage `json:"updates"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, dataErr("%v (expected {\"category\": \"...\", \"properties\": [\"name\", ...], \"updates\": [[\"user_id\", value, ...], ...]})", err)
	}
	if dec.More() {
		return nil, dataErr("more than one JSON value")
	}
	d := &BatchData{}
	if raw.Category != nil {
		d.Category = strings.TrimSpace(*raw.Category)
		if len(d.Category) > maxCategory {
			return nil, dataErr("category is longer than %d bytes", maxCategory)
		}
	}
	if len(raw.Properties) == 0 {
		return nil, dataErr("properties must list at least one property name")
	}
	if len(raw.Properties) > maxProperties {
		return nil, dataErr("properties lists %d names, at most %d are allowed", len(raw.Properties), maxProperties)
	}
	seen := map[string]bool{}
	for i, p := range raw.Properties {
		switch {
		case strings.TrimSpace(p) == "":
			return nil, dataErr("properties[%d] is empty", i)
		case len(p) > maxPropertyName:
			return nil, dataErr("properties[%d] is longer than %d bytes", i, maxPropertyName)
		case strings.ContainsRune(p, '/') || hasControl(p):
			return nil, dataErr("properties[%d] %q contains a slash or a control character", i, p)
		case seen[p]:
			return nil, dataErr("properties[%d] %q is listed twice", i, p)
		}
		seen[p] = true
		d.Properties = append(d.Properties, PropertyDecl{Name: p})
	}
	if raw.Updates == nil {
		return nil, dataErr("updates is missing (an empty batch is [])")
	}
	width := 1 + len(d.Properties)
	d.Rows = make([]string, len(raw.Updates))
	d.Values = make([][]json.RawMessage, len(raw.Updates))
	for i, u := range raw.Updates {
		if len(u) != width {
			return nil, dataErr("updates[%d] has %d elements, want %d: the user id and one value per property", i, len(u), width)
		}
		var id string
		if err := json.Unmarshal(u[0], &id); err != nil || id == "" || hasControl(id) {
			return nil, dataErr("updates[%d][0] must be the user id, a non-empty string without control characters, got %s", i, u[0])
		}
		d.Rows[i] = id
		vals := u[1:]
		for j, v := range vals {
			typ := jsonType(v)
			switch typ {
			case "null":
				vals[j] = nil
				continue
			case "":
				return nil, dataErr("updates[%d][%d] (%s) must be a number, a string, a boolean or null, got %s", i, j+1, d.Properties[j].Name, v)
			}
			if t := d.Properties[j].Type; t == "" {
				d.Properties[j].Type = typ
			} else if t != typ {
				return nil, dataErr("updates[%d][%d] (%s) is a %s, but earlier values of %s are of type %s", i, j+1, d.Properties[j].Name, typ, d.Properties[j].Name, t)
			}
			if typ == TypeText {
				// Compact and canonical: the stored text is the value's JSON.
				vals[j] = bytes.TrimSpace(v)
			}
		}
		d.Values[i] = vals
	}
	return d, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// jsonType names the JSON type of a scalar: number, text, boolean, null;
// "" for objects and arrays.
func jsonType(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		return TypeText
	case 't', 'f':
		return TypeBoolean
	case 'n':
		return "null"
	case '{', '[':
		return ""
	}
	return TypeNumber
}
