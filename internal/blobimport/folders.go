package blobimport

import (
	"fmt"
	"strings"

	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/job"
)

// FolderError is a file:// source outside the folders the operator
// allowed at start (job.Env.Folders).
type FolderError struct {
	Source  string
	Allowed []string
}

func (e *FolderError) Error() string {
	allowed := "none"
	if len(e.Allowed) > 0 {
		allowed = strings.Join(e.Allowed, ", ")
	}
	return fmt.Sprintf("source %s is outside the folders this server may import from (%s): whoever starts weft serve allows folders with --import-folder", e.Source, allowed)
}

// checkFolder refuses a file:// source outside env.Folders (see
// bucket.InFolders); other schemes are not local files.
func checkFolder(env *job.Env, p *Params) error {
	if env == nil || env.Folders == nil || bucket.InFolders(p.Source, env.Folders) {
		return nil
	}
	return &ParamError{Param: "source", Reason: (&FolderError{Source: p.Source, Allowed: env.Folders}).Error()}
}
