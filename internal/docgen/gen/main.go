// Command gen writes the generated references under docs/reference: run
// it from the repository's root as go run ./internal/docgen/gen.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftdata/weft/internal/docgen"
)

func main() {
	files, err := docgen.Files(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.FromSlash(f.Path), f.Data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "docgen:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", f.Path)
	}
}
