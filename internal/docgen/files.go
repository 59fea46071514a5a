package docgen

import (
	"io"
	"os"
	"strings"

	"github.com/weftdata/weft/internal/cli"
)

// File is one generated file, its path relative to the repository's root.
type File struct {
	Path string
	Data []byte
}

// Files generates every reference from the source under root. Flag
// defaults that come from WEFT_* environment variables are generated with
// those unset, so the files do not depend on who runs the generator.
func Files(root string) ([]File, error) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "WEFT_") {
			os.Unsetenv(name)
		}
	}
	yamlRef, err := WeftYAML(root)
	if err != nil {
		return nil, err
	}
	return []File{
		{"docs/reference/cli.md", CLI(cli.NewRoot(io.Discard, io.Discard))},
		{"docs/reference/weft-yaml.md", yamlRef},
	}, nil
}
