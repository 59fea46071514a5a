module example.com/myweft

go 1.26

require github.com/weftdata/weft v0.0.0

// Weft is built from your clone: this directory beside it, as ../weft.
replace github.com/weftdata/weft => ../weft
