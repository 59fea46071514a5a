package plugin

import "strings"

// ResolveProperty finds the published property a reference names: an
// exact id <plugin>/<run-timestamp>/<name>, or <plugin>/<name> for the
// property of that name of the plugin's latest published run (the latest
// PublishedAt; on a tie, the greatest id, which holds the later run
// timestamp). Property names hold no slash, so the number of slashes
// tells the two forms apart.
func ResolveProperty(ref string, props []Property) (Property, bool) {
	plugin, name, ok := strings.Cut(ref, "/")
	if !ok || name == "" {
		return Property{}, false
	}
	exact := strings.Contains(name, "/")
	var best Property
	found := false
	for _, p := range props {
		switch {
		case exact && p.ID == ref:
			return p, true
		case exact || p.Plugin != plugin || p.Name != name:
			continue
		case !found || p.PublishedAt.After(best.PublishedAt) ||
			(p.PublishedAt.Equal(best.PublishedAt) && p.ID > best.ID):
			best, found = p, true
		}
	}
	return best, found
}
