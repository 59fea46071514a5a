// Command myweft is weft with the jobs of package myjobs: the stock
// commands (serve, apply, jobs, ...) plus every job myjobs registers.
package main

import (
	weftcmd "github.com/weftdata/weft/cmd"

	_ "example.com/myweft/myjobs" // registers its jobs in init
)

func main() { weftcmd.Main() }
