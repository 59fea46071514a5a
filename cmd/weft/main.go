// Command weft is the Weft platform: see "weft --help".
package main

import weftcmd "github.com/weftdata/weft/cmd"

func main() { weftcmd.Main() }
