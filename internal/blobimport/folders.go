package blobimport

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

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

// checkFolder refuses a file:// source outside env.Folders. Paths are
// compared cleaned and with symbolic links resolved, so neither ../ nor
// a link leads outside; other schemes are not local files.
func checkFolder(env *job.Env, p *Params) error {
	if env == nil || env.Folders == nil {
		return nil
	}
	u, err := url.Parse(p.Source)
	if err != nil || u.Scheme != "file" {
		return nil
	}
	refuse := &ParamError{Param: "source", Reason: (&FolderError{Source: p.Source, Allowed: env.Folders}).Error()}
	if u.Host != "" && u.Host != "localhost" {
		return refuse
	}
	dir := resolve(filepath.FromSlash(u.Path))
	for _, f := range env.Folders {
		root := resolve(f)
		if rel, err := filepath.Rel(root, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return nil
		}
	}
	return refuse
}

// resolve is path absolute and clean, with its symbolic links resolved as
// far as it exists.
func resolve(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	// Resolve the part that exists; the rest cannot be a link yet.
	parent, base := filepath.Split(abs)
	if parent == abs || parent == "" {
		return abs
	}
	return filepath.Join(resolve(filepath.Clean(parent)), base)
}
