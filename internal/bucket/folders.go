package bucket

import (
	"net/url"
	"path/filepath"
	"strings"
)

// LocalDir is the directory of a file:// folder URL, or false for a URL
// of another scheme (or one that does not parse: Parse reports that).
func LocalDir(folder string) (dir string, ok bool) {
	u, err := url.Parse(folder)
	if err != nil || u.Scheme != "file" {
		return "", false
	}
	return filepath.FromSlash(u.Path), true
}

// InFolders reports whether a file:// folder URL lies inside one of
// folders (the local folders the operator allowed at start), sub-folders
// included. Paths are compared cleaned and with symbolic links resolved,
// so neither ../ nor a link leads outside. A host other than localhost
// is never inside. URLs of other schemes are not local files: true.
func InFolders(folder string, folders []string) bool {
	u, err := url.Parse(folder)
	if err != nil || u.Scheme != "file" {
		return true
	}
	if u.Host != "" && u.Host != "localhost" {
		return false
	}
	dir := resolve(filepath.FromSlash(u.Path))
	for _, f := range folders {
		root := resolve(f)
		if rel, err := filepath.Rel(root, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
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
