// Package segment is the audience layer: segments are condition trees over
// profiles (attributes, plugin properties, events in a window, identifiers
// and other segments), declared under segments: in weft.yaml. The segments
// job computes their members set-based on both backends, fully when a
// definition changes and incrementally after attribute runs, and records
// every change of membership (tables segment_members, segment_changes and
// segment_runs), which destinations carry to other systems.
package segment
