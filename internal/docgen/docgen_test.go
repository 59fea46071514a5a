package docgen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/docgen"
)

const root = "../.."

// TestReferencesCurrent fails when a committed reference under
// docs/reference differs from what the code generates now.
func TestReferencesCurrent(t *testing.T) {
	files, err := docgen.Files(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s is stale: run go run ./internal/docgen/gen from the repository's root and commit it", f.Path)
		}
	}
}

// TestWeftYAMLReference checks the reference reads field docs from the
// packages that declare the types, not only internal/config.
func TestWeftYAMLReference(t *testing.T) {
	out, err := docgen.WeftYAML(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| `value_expression` | string | (none) |",                        // stitch.Rule
		"BlockedPattern, a regular expression",                            // stitch.Identifier
		"| `paging_ttl` | string | 30m |",                                 // a default read from a comment
		"| `fields` | list of [object](#objectsfields) |",                 // object.Type, and a link to its section
		"Weight and OuterWeight weigh values",                             // a comment shared by two fields
		"| `anon_user_id` | string | anon_user_id | `\"anon_user_id\"` |", // an example
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("docs/reference/weft-yaml.md lacks %q", want)
		}
	}
}

var (
	linkPattern    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingPattern = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	codeSpan       = regexp.MustCompile("`[^`]*`")
)

// TestDocLinks checks every relative link of the repository's Markdown
// files: the file exists, inside the repository, and so does the heading
// an #anchor names.
func TestDocLinks(t *testing.T) {
	var files []string
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	absRoot, _ := filepath.Abs(root)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linkPattern.FindAllStringSubmatch(stripCode(string(data), true), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, frag, _ := strings.Cut(link, "#")
			path := file
			if target != "" {
				path = filepath.Join(filepath.Dir(file), filepath.FromSlash(target))
			}
			abs, _ := filepath.Abs(path)
			if !strings.HasPrefix(abs, absRoot+string(filepath.Separator)) {
				t.Errorf("%s: link %s leaves the repository", file, link)
				continue
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Errorf("%s: link %s: no such file", file, link)
				continue
			}
			if frag != "" && !info.IsDir() && strings.HasSuffix(path, ".md") && !hasAnchor(path, frag) {
				t.Errorf("%s: link %s: no heading with anchor #%s", file, link, frag)
			}
		}
	}
}

// stripCode drops fenced code blocks, and code spans with spans, whose
// brackets are not links nor their # lines headings.
func stripCode(s string, spans bool) string {
	var out []string
	fenced := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced && spans {
			line = codeSpan.ReplaceAllString(line, "")
		}
		if !fenced {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func hasAnchor(path, frag string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, m := range headingPattern.FindAllStringSubmatch(stripCode(string(data), false), -1) {
		if docgen.HeadingAnchor(m[1]) == frag {
			return true
		}
	}
	return false
}
