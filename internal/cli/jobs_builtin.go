package cli

// Jobs every weft binary has, registered by their packages' init
// functions.
import _ "github.com/weftdata/weft/internal/blobimport"
