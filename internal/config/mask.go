package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config reads (GET /v1/config) show keys and secrets masked: the values
// of mapping keys that name one (api_keys, token, password, ...; see
// secretKey), and the default of a plugin variable so named. A masked
// value is MaskPrefix followed by the last 4 characters of values of 16
// or more, so that an operator can tell keys apart.
//
// A document sent back with masked values (PUT /v1/config of what GET
// answered) keeps the values in force: Unmask puts them back, found at the
// same place (in a list, the entry whose mask matches).

// MaskPrefix starts every masked value.
const MaskPrefix = "********"

// secretKey matches the mapping keys whose values are keys or secrets.
var secretKey = regexp.MustCompile(`(?i)^(.*[_-])?(api_?keys?|secrets?|secret_?keys?|tokens?|passwords?|passwd|credentials?|access_?keys?|private_?keys?)$`)

// Mask is how a secret value is shown.
func Mask(v string) string {
	if len(v) >= 16 {
		return MaskPrefix + v[len(v)-4:]
	}
	return MaskPrefix
}

// MaskDocument returns a YAML or JSON document with its keys and secrets
// masked, as YAML (comments kept); a document without any comes back as
// it is.
func MaskDocument(doc []byte) ([]byte, error) {
	root, err := parseNode(doc)
	if err != nil {
		return nil, err
	}
	if !maskNode(root, "", false) {
		return doc, nil
	}
	return encodeNode(root)
}

// MaskJSON returns a JSON document with its keys and secrets masked, in
// the same key order.
func MaskJSON(doc string) (string, error) {
	root, err := parseNode([]byte(doc))
	if err != nil {
		return "", err
	}
	if !maskNode(root, "", false) {
		return doc, nil
	}
	var b strings.Builder
	if err := writeJSON(&b, root); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Unmask replaces the masked values of doc by the values in force that
// they mask, read from the document in force (inForce, empty when there is
// none). A masked value that masks no value in force at its place is an
// *Error naming the place. A document without masked values comes back as
// it is.
func Unmask(doc, inForce []byte) ([]byte, error) {
	if !bytes.Contains(doc, []byte(MaskPrefix)) {
		return doc, nil
	}
	root, err := parseNode(doc)
	if err != nil {
		return doc, nil // Apply reports the syntax error
	}
	var old *yaml.Node
	if len(bytes.TrimSpace(inForce)) > 0 {
		if old, err = parseNode(inForce); err != nil {
			return nil, fmt.Errorf("read the config in force: %w", err)
		}
	}
	changed, err := unmaskNode(root, old, "", false)
	if err != nil || !changed {
		return doc, err
	}
	return encodeNode(root)
}

func parseNode(doc []byte) (*yaml.Node, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, err
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0], nil
	}
	return &n, nil
}

func encodeNode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// maskNode masks the scalars below n, at path, that are secret (secret:
// below a secret key); it reports whether it masked any.
func maskNode(n *yaml.Node, path string, secret bool) bool {
	masked := false
	switch n.Kind {
	case yaml.ScalarNode:
		if secret && n.Tag != "!!null" && !strings.HasPrefix(n.Value, MaskPrefix) {
			setString(n, Mask(n.Value))
			return true
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			masked = maskNode(c, fmt.Sprintf("%s[%d]", path, i), secret) || masked
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p, s := entry(n, i, path, secret)
			masked = maskNode(n.Content[i+1], p, s) || masked
		}
	}
	return masked
}

// entry is the path of the i-th key of the mapping n at path, and whether
// its value is secret.
func entry(n *yaml.Node, i int, path string, secret bool) (string, bool) {
	k := n.Content[i].Value
	p := k
	if path != "" {
		p = path + "." + k
	}
	// Job names are names, not keys that say what their value holds.
	named := path != "jobs" && secretKey.MatchString(k)
	return p, secret || named || k == "default" && isSecretVariable(n)
}

// isSecretVariable: a mapping with a name that names a secret (a plugin
// variable), whose default is then one.
func isSecretVariable(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && n.Content[i+1].Kind == yaml.ScalarNode {
			return secretKey.MatchString(n.Content[i+1].Value)
		}
	}
	return false
}

func setString(n *yaml.Node, v string) {
	n.Value, n.Tag, n.Style = v, "!!str", yaml.DoubleQuotedStyle
}

// unmaskNode puts back below n the values in force that masked scalars
// stand for; old is the same place in the document in force (nil when it
// has none).
func unmaskNode(n, old *yaml.Node, path string, secret bool) (bool, error) {
	changed := false
	switch n.Kind {
	case yaml.ScalarNode:
		if !secret || !strings.HasPrefix(n.Value, MaskPrefix) {
			return false, nil
		}
		if old == nil || old.Kind != yaml.ScalarNode || Mask(old.Value) != n.Value {
			return false, &Error{Field: path, Err: fmt.Errorf("%q is a masked value (as GET /v1/config shows keys and secrets) that masks no value in force here: send the value itself", n.Value)}
		}
		n.Value, n.Tag, n.Style = old.Value, old.Tag, old.Style
		return true, nil
	case yaml.SequenceNode:
		for i, c := range n.Content {
			c2, err := unmaskNode(c, sameEntry(c, old, i), fmt.Sprintf("%s[%d]", path, i), secret)
			if err != nil {
				return false, err
			}
			changed = changed || c2
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p, s := entry(n, i, path, secret)
			c2, err := unmaskNode(n.Content[i+1], valueOf(old, n.Content[i].Value), p, s)
			if err != nil {
				return false, err
			}
			changed = changed || c2
		}
	}
	return changed, nil
}

// valueOf is the value of key k in the mapping old, or nil.
func valueOf(old *yaml.Node, k string) *yaml.Node {
	if old == nil || old.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(old.Content); i += 2 {
		if old.Content[i].Value == k {
			return old.Content[i+1]
		}
	}
	return nil
}

// sameEntry is the entry of the list old that n stands for: for a masked
// scalar, the one whose mask it is (the entry at the same index first);
// else the entry at the same index, or the entry with the same name.
func sameEntry(n, old *yaml.Node, i int) *yaml.Node {
	if old == nil || old.Kind != yaml.SequenceNode {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if i < len(old.Content) && old.Content[i].Kind == yaml.ScalarNode && Mask(old.Content[i].Value) == n.Value {
			return old.Content[i]
		}
		for _, c := range old.Content {
			if c.Kind == yaml.ScalarNode && Mask(c.Value) == n.Value {
				return c
			}
		}
		return nil
	}
	if name := valueOf(n, "name"); name != nil {
		for _, c := range old.Content {
			if v := valueOf(c, "name"); v != nil && v.Value == name.Value {
				return c
			}
		}
	}
	if i < len(old.Content) {
		return old.Content[i]
	}
	return nil
}

// writeJSON writes a node parsed from JSON back as JSON.
func writeJSON(b *strings.Builder, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeString(b, n.Content[i].Value); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null", "!!bool", "!!int", "!!float":
			b.WriteString(n.Value)
		default:
			if err := writeString(b, n.Value); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("config: unexpected YAML node kind %d in a JSON document", n.Kind)
	}
	return nil
}

// writeString writes a JSON string as Config.JSON does: SQL keeps its
// < and >.
func writeString(b *strings.Builder, v string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return nil
}
