package docgen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// sourceDocs reads the doc comments of types and struct fields from the Go
// source of the packages that declare them, found from their import path
// (reflect.Type.PkgPath) under the module's root, so the descriptions stay
// with the types wherever they move.
type sourceDocs struct {
	root, module string
	pkgs         map[string]map[string]typeDoc // import path → type name → docs
}

// typeDoc is the doc comment of a type and of each of its fields.
type typeDoc struct {
	doc    string
	fields map[string]string
}

func newSourceDocs(root string) (*sourceDocs, error) {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("read the module's go.mod: %w", err)
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return &sourceDocs{root: root, module: strings.TrimSpace(m), pkgs: map[string]map[string]typeDoc{}}, nil
		}
	}
	return nil, fmt.Errorf("%s/go.mod names no module", root)
}

// lookup returns the docs of the type name declared in package pkgPath.
func (s *sourceDocs) lookup(pkgPath, name string) (typeDoc, error) {
	types, ok := s.pkgs[pkgPath]
	if !ok {
		rel, inModule := strings.CutPrefix(pkgPath, s.module)
		if !inModule {
			return typeDoc{}, fmt.Errorf("package %s is outside module %s", pkgPath, s.module)
		}
		var err error
		if types, err = parsePackage(filepath.Join(s.root, filepath.FromSlash(rel))); err != nil {
			return typeDoc{}, err
		}
		s.pkgs[pkgPath] = types
	}
	return types[name], nil
}

// parsePackage reads the type and field comments of the non-test Go files
// of dir.
func parsePackage(dir string) (map[string]typeDoc, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the source of %s: %w", dir, err)
	}
	out := map[string]typeDoc{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", e.Name(), err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				td := typeDoc{doc: text(doc), fields: map[string]string{}}
				if st, ok := ts.Type.(*ast.StructType); ok {
					fieldDocs(st, td.fields)
				}
				out[ts.Name.Name] = td
			}
		}
	}
	return out, nil
}

// fieldDocs takes each field's doc or line comment. A field without one
// takes the comment of the documented field before it when that comment
// names it ("Weight and OuterWeight weigh ...") or the two names end in the
// same word (RetrievalWeight, EngagementWeight: "Weights of the score
// parts").
func fieldDocs(st *ast.StructType, out map[string]string) {
	var prevDoc, prevName string
	for _, f := range st.Fields.List {
		doc := text(f.Doc)
		if doc == "" {
			doc = text(f.Comment)
		}
		for _, n := range f.Names {
			switch {
			case doc != "":
				out[n.Name] = doc
			case prevDoc != "" && (strings.Contains(prevDoc, n.Name) || lastWord(prevName) == lastWord(n.Name)):
				out[n.Name] = prevDoc
			}
		}
		if doc != "" && len(f.Names) > 0 {
			prevDoc, prevName = doc, f.Names[0].Name
		}
	}
}

// lastWord is the last word of a CamelCase name: Weight of RetrievalWeight.
func lastWord(name string) string {
	i := strings.LastIndexFunc(name, func(r rune) bool { return r >= 'A' && r <= 'Z' })
	if i < 0 {
		return name
	}
	return name[i:]
}

func text(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}
