package fileexport

import (
	"slices"
	"strings"

	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/internal/destination"
)

// validate checks the fields of a file_export destination, once the
// common ones (id, attributes, identifiers, consent, cron) passed, and
// refuses the webhook's. The folder of a file:// target is checked where
// the operator's folders are known (CheckFolder).
func validate(d *destination.Definition, k *destination.Known) error {
	for _, f := range []struct {
		name string
		set  bool
	}{{"segments", len(d.Segments) > 0}, {"url", d.URL != ""}, {"secret", d.Secret != ""}, {"batch_size", d.BatchSize != 0},
		{"rate_limit", d.RateLimit != 0}, {"timeout", d.Timeout != ""}, {"max_attempts", d.MaxAttempts != 0}} {
		if f.set {
			return d.Errorf(f.name, "belongs to webhook destinations; a file_export takes target, format, mode and segment (one, or none for every profile)")
		}
	}
	if d.Target == "" {
		return d.Errorf("target", "is required: the folder files are written to (file:///dir, s3://bucket/prefix, azblob://container/prefix)")
	}
	if _, _, err := bucket.Parse(d.Target); err != nil {
		return d.Errorf("target", "%w", err)
	}
	switch d.Format {
	case FormatCSV, FormatNDJSON, FormatParquet:
	case "":
		return d.Errorf("format", "is required: csv, ndjson or parquet")
	default:
		return d.Errorf("format", "%q must be csv, ndjson or parquet", d.Format)
	}
	switch d.Mode {
	case "", ModeSnapshot, ModeChanges:
	default:
		return d.Errorf("mode", "%q must be snapshot (every member each run, the default) or changes (what changed since the last file)", d.Mode)
	}
	if d.Segment != "" && !k.Segments[d.Segment] {
		return d.Errorf("segment", "no segment %q is declared under segments (known: %s)", d.Segment, listOrNone(sortedKeys(k.Segments)))
	}
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
