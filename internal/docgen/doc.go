// Package docgen writes the references under docs/reference from the code:
// the command line from the cobra command tree (cli.md) and weft.yaml from
// the Go types of internal/config and the types they reference
// (weft-yaml.md), with each field's description taken from its doc comment
// in the source of the package that declares it. go run ./internal/docgen/gen
// writes them; a test fails when the committed files are stale.
package docgen
