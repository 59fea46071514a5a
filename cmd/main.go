// Package weftcmd is the weft command as a library, for programs that add
// their own jobs (the way Caddy modules are built in):
//
//	package main
//
//	import (
//		weftcmd "github.com/weftdata/weft/cmd"
//		_ "example.com/myjobs" // calls job.Register in its init
//	)
//
//	func main() { weftcmd.Main() }
//
// The result is a weft binary whose serve runs the registered jobs beside
// the built-in ones, scheduled under jobs: in weft.yaml and triggered with
// weft jobs trigger.
package weftcmd

import (
	"os"

	"github.com/weftdata/weft/internal/cli"
)

// Main runs the weft command line with the process's arguments and exits.
func Main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
