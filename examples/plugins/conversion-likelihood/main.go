// Command conversion-likelihood is Weft's example intelligence plugin in Go
// (the seed's batch updating example): it predicts how likely each user is to
// reach the plugin's binary goal and writes that 0.0–1.0 likelihood onto
// every user as a property. The plugin is package likelihood.
//
//	conversion-likelihood manifest.json results.json
package main

import (
	"os"

	"github.com/weftdata/weft/examples/plugins/conversion-likelihood/likelihood"
)

func main() { os.Exit(likelihood.Main(os.Args)) }
