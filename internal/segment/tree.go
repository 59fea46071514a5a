package segment

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// TreeJSON reads a condition tree written in YAML or JSON, as under
// segments[].condition in weft.yaml, and returns it as JSON; a document
// whose one key is condition is taken as the tree under it.
func TreeJSON(data []byte) (json.RawMessage, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the condition tree is not YAML or JSON: %w", err)
	}
	if m, ok := doc.(map[string]any); ok && len(m) == 1 && m["condition"] != nil {
		doc = m["condition"]
	}
	return json.Marshal(doc)
}

// ParseTree reads a condition tree written in YAML or JSON (see TreeJSON)
// strictly: a key no condition has is an error.
func ParseTree(data []byte) (*Condition, error) {
	raw, err := TreeJSON(data)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Condition
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("the condition tree does not read as one: %w", err)
	}
	return &c, nil
}
