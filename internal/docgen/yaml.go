package docgen

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/weftdata/weft/internal/config"
)

// exampleYAML is a weft.yaml that sets every field, the source of the
// reference's examples; config.Parse must accept it.
//
//go:embed example.yaml
var exampleYAML []byte

// WeftYAML renders the reference of every weft.yaml field, reading the doc
// comments from the source under root (the module's directory).
func WeftYAML(root string) ([]byte, error) {
	docs, err := newSourceDocs(root)
	if err != nil {
		return nil, err
	}
	example, err := config.Parse(exampleYAML)
	if err != nil {
		return nil, fmt.Errorf("internal/docgen/example.yaml is not a valid weft.yaml: %w", err)
	}
	examples := map[string]reflect.Value{}
	collectExamples(reflect.ValueOf(*example), "", examples)
	r := &yamlRef{docs: docs, examples: examples, uses: map[reflect.Type][]string{}}
	var b bytes.Buffer
	b.WriteString("# `weft.yaml` reference\n\n")
	b.WriteString(generatedNote)
	b.WriteString("Every field of `weft.yaml`, with its type, default and an example (taken from\n")
	b.WriteString("[`internal/docgen/example.yaml`](../../internal/docgen/example.yaml), a document that sets every\n")
	b.WriteString("field). [Configuration](../configuration.md) says how a document is applied; the guides say\n")
	b.WriteString("what each part does. `<name>` stands for a key of your choosing, `[]` for a list's items.\n")
	if err := r.section(&b, reflect.TypeOf(config.Config{}), ""); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type yamlRef struct {
	docs     *sourceDocs
	examples map[string]reflect.Value
	// uses holds every path a struct type is found at; its section is
	// written once, at the first, and the others link there (a condition
	// tree holds conditions). An example at any of them documents a field.
	uses map[reflect.Type][]string
}

// field is one weft.yaml key of a struct.
type field struct {
	name string // the YAML key
	sf   reflect.StructField
}

func yamlFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, field{name, sf})
	}
	return out
}

// section writes the table of struct type t found at path, then the
// sections of the structs its fields hold.
func (r *yamlRef) section(b *bytes.Buffer, t reflect.Type, path string) error {
	td, err := r.docs.lookup(t.PkgPath(), t.Name())
	if err != nil {
		return err
	}
	title := "`" + path + "`"
	if path == "" {
		title = "Top level"
	}
	fmt.Fprintf(b, "\n## %s\n\n", title)
	if td.doc != "" {
		fmt.Fprintf(b, "%s (Go type `%s.%s`)\n\n", td.doc, t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:], t.Name())
	}
	b.WriteString("| field | type | default | example | description |\n|---|---|---|---|---|\n")
	type nested struct {
		t    reflect.Type
		path string
	}
	var later []nested
	var missing []string
	for _, f := range yamlFields(t) {
		fpath := join(path, f.name)
		typ, inner, innerPath := r.typeName(f.sf.Type, fpath)
		if inner != nil {
			if len(r.uses[inner]) == 0 {
				later = append(later, nested{inner, innerPath})
			}
			r.uses[inner] = append(r.uses[inner], innerPath)
			typ = strings.Replace(typ, HeadingAnchor("`"+innerPath+"`"), HeadingAnchor("`"+r.uses[inner][0]+"`"), 1)
		}
		doc := td.fields[f.sf.Name]
		if doc == "" && inner != nil {
			// An undocumented field of a struct type: the type's doc.
			innerDoc, err := r.docs.lookup(inner.PkgPath(), inner.Name())
			if err != nil {
				return err
			}
			doc = innerDoc.doc
		}
		ex, ok := r.example(t, path, f.name)
		if !ok {
			missing = append(missing, fpath)
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", f.name, typ, defaultOf(doc, f.sf.Name, f.sf.Type), exampleOf(ex, inner != nil), cell(orDash(doc)))
	}
	if len(missing) > 0 {
		return fmt.Errorf("weft.yaml fields without an example: %s: set them in internal/docgen/example.yaml", strings.Join(missing, ", "))
	}
	for _, n := range later {
		if err := r.section(b, n.t, n.path); err != nil {
			return err
		}
	}
	return nil
}

// example finds the example of field name of struct type t documented at
// path, or at another path t is found at.
func (r *yamlRef) example(t reflect.Type, path, name string) (reflect.Value, bool) {
	if ex, ok := r.examples[join(path, name)]; ok {
		return ex, true
	}
	for _, p := range r.uses[t] {
		if ex, ok := r.examples[join(p, name)]; ok {
			return ex, true
		}
	}
	return reflect.Value{}, false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// typeName names t in YAML words; for a struct (or a list or map of them)
// it also returns the struct and the path of its section.
func (r *yamlRef) typeName(t reflect.Type, path string) (string, reflect.Type, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return "[object](#" + HeadingAnchor("`"+path+"`") + ")", t, path
	case reflect.Slice:
		name, inner, innerPath := r.typeName(t.Elem(), path+"[]")
		return "list of " + name, inner, innerPath
	case reflect.Map:
		name, inner, innerPath := r.typeName(t.Elem(), path+".<name>")
		return "map of name → " + name, inner, innerPath
	case reflect.String:
		return "string", nil, ""
	case reflect.Bool:
		return "boolean", nil, ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer", nil, ""
	case reflect.Float32, reflect.Float64:
		return "number", nil, ""
	case reflect.Interface:
		return "any", nil, ""
	}
	return t.Kind().String(), nil, ""
}

// HeadingAnchor is GitHub's anchor of a heading: lower case, spaces to -,
// other punctuation but - and _ dropped.
func HeadingAnchor(h string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(h) {
		switch {
		case c == ' ':
			b.WriteByte('-')
		case c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		}
	}
	return b.String()
}

var defaultPattern = regexp.MustCompile(`\b[Dd]efault:? ([^.;()]+)`)

// defaultOf reads the default from the field's comment ("default 30m",
// "Default: float for sum ..."), from where the comment names the field
// when it documents several; else it says what leaving it out means.
func defaultOf(doc, goName string, t reflect.Type) string {
	if i := strings.Index(doc, goName+" "); i > 0 {
		doc = doc[i:]
	}
	for _, m := range defaultPattern.FindAllStringSubmatch(doc, -1) {
		// "Default is sent when ...", "without a default are absent".
		if v := strings.TrimSpace(m[1]); !strings.HasPrefix(v, "is ") && !strings.HasPrefix(v, "are ") {
			return cell(v)
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return "`false`"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "`0`"
	}
	return "(none)"
}

// collectExamples records, for every field path, the first non-zero value
// the example document gives it.
func collectExamples(v reflect.Value, path string, out map[string]reflect.Value) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		for _, f := range yamlFields(v.Type()) {
			fv := v.FieldByIndex(f.sf.Index)
			fpath := join(path, f.name)
			if _, ok := out[fpath]; !ok && !fv.IsZero() {
				out[fpath] = fv
			}
			collectExamples(fv, fpath, out)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			collectExamples(v.Index(i), path+"[]", out)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			collectExamples(v.MapIndex(k), path+".<name>", out)
		}
	}
}

// exampleOf shows a value as YAML flow (JSON is YAML); objects are shown in
// their own sections.
func exampleOf(v reflect.Value, object bool) string {
	if object || !v.IsValid() {
		return "see below"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.Interface()); err != nil {
		return "—"
	}
	return "`" + codeCell(strings.TrimSpace(buf.String())) + "`"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
