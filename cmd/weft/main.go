// Command weft is the Weft platform: see "weft --help".
package main

import (
	"os"

	"github.com/weftdata/weft/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
