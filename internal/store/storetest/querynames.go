package storetest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var queryNameTests = []test{
	{"Resolve", testQueryNames},
}

// queryNameCalls are the functions whose first string-literal argument is
// a query name: Executor.Query, and inside package store its lookups
// (q.get, db.each, db.held).
var queryNameCalls = map[string]bool{"Query": true, "get": true, "each": true, "held": true}

// QueryNameUse is a query name used in the code, and where.
type QueryNameUse struct {
	Name string
	Pos  string
}

// QueryNamesUsed scans the Go files of the module at root (tests and
// vendored or hidden directories aside) for the names passed to the
// functions of queryNameCalls, and, in package store, for string literals
// assigned to a variable called name (a query chosen at run time, as
// EventList does).
func QueryNamesUsed(t *testing.T, root string) []QueryNameUse {
	t.Helper()
	fset := token.NewFileSet()
	var uses []QueryNameUse
	add := func(lit ast.Expr) {
		bl, ok := lit.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			return
		}
		name, err := strconv.Unquote(bl.Value)
		if err != nil || name == "" || strings.ContainsAny(name, " \n(*") {
			return
		}
		uses = append(uses, QueryNameUse{Name: name, Pos: fset.Position(bl.Pos()).String()})
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "examples") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || !queryNameCalls[sel.Sel.Name] || len(n.Args) == 0 {
					return true
				}
				for _, a := range n.Args[:min(2, len(n.Args))] {
					if bl, ok := a.(*ast.BasicLit); ok && bl.Kind == token.STRING {
						add(a)
						break
					}
				}
			case *ast.RangeStmt:
				// for _, q := range []string{"A", "B"} { ... Query(q) ... }
				lit, ok := n.X.(*ast.CompositeLit)
				v, vok := n.Value.(*ast.Ident)
				if ok && vok && passesToQuery(n.Body, v.Name) {
					for _, e := range lit.Elts {
						add(e)
					}
				}
			case *ast.AssignStmt:
				if f.Name.Name != "store" {
					return true
				}
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == "name" && i < len(n.Rhs) {
						add(n.Rhs[i])
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uses
}

// passesToQuery reports whether body calls a function of queryNameCalls
// with the variable name.
func passesToQuery(body ast.Node, name string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok && queryNameCalls[sel.Sel.Name] {
				for _, a := range c.Args {
					if id, ok := a.(*ast.Ident); ok && id.Name == name {
						found = true
					}
				}
			}
		}
		return !found
	})
	return found
}

// moduleRoot is the directory of the go.mod above the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// testQueryNames resolves every query name the code uses on the backend:
// a misspelt name fails here, not in front of a user.
func testQueryNames(t *testing.T, b Backend) {
	s := openDB(t, b)
	uses := QueryNamesUsed(t, moduleRoot(t))
	// The scanner itself must keep finding the names (the store alone
	// uses dozens): a change that blinds it fails here too.
	if len(uses) < 100 {
		t.Fatalf("found only %d query names in the code", len(uses))
	}
	for _, u := range uses {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: query %q does not resolve on %s: %v", u.Pos, u.Name, s.Dialect(), r)
				}
			}()
			s.Query(u.Name)
		}()
	}
}
