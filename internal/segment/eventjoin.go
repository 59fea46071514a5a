package segment

import "strconv"

// How an event condition with kept values or a copy of its fields
// (keptGroups) joins them to the entities' events. At 10M events a
// builder's count of a where over 6M page views, or of a sum over 2M
// purchases, was mostly this join by seq and the grouping after it
// (BENCHMARKS.md): the scans and the where cost a fifth.
//   - Where the backend says so (store.Capabilities.JoinsInSeqParts:
//     DuckDB), the values are joined to the events in parts of joinPart
//     seqs, one join per part, all in one UNION ALL: each hash table then
//     holds a part's values (a few hundred thousand rows) and stays in the
//     processor's caches, where one of millions was probed at a cache
//     miss per row. Both tables are stored in about seq order (the
//     mappings by stitching batches, the copy and the values by window),
//     so each part's scans skip the other parts' row groups by their zone
//     maps. Measured at 10M events (CPU of the whole count, medians of
//     four, loaded machine): a sum over 2M purchases 0.63 s in one join,
//     0.49 s in ten parts (0.59 s in five, 0.56 s in twenty); a where
//     over 6.2M page views 0.63 s, 0.43 s (0.53 s, 0.63 s).
//   - A preview (compiler.snapshot) whose values or copy reach the log's
//     last seq as it began evaluates no later events: the query reads no
//     part of the log. Besides the scan, that part's estimate (a filter
//     on 10M rows) made DuckDB build the hash table on the 6M page views
//     rather than on the 0.8M values that matched (1.2 s of the join).

// joinPart is how many seqs one part of the join covers; joinParts the
// most parts a join has (wider parts beyond).
var (
	joinPart  int64 = 1_000_000
	joinParts int64 = 16
)

// keptGroups is eventGroups of a condition whose per-event values are
// kept up to upto (eventvalues.go), or read from the copy of its type's
// fields (eventfields.go): the entities' events of its type in its
// window, which entity_events carries (or the candidates' copy of it),
// joined to the values by seq, in parts. The values are of the
// condition's version alone, if it names one.
func (c *compiler) keptGroups(n *Condition, key, upto int64) string {
	events, seq := "entity_events", "event_seq"
	if c.local {
		events, seq = "seg_c_events", "seq"
	}
	window := c.window(n)
	fs := c.fields[key]
	covered := upto
	if fs != nil {
		covered = max(covered, fs.upto)
	}
	me := func(after, to int64) string {
		q := "SELECT ev.entity_id, ev." + seq + " AS seq FROM " + events + " ev WHERE " + typeFilter(n) + " AND " + window + c.restrict("ev.entity_id")
		if after > 0 {
			q += " AND ev." + seq + " > " + strconv.FormatInt(after, 10)
		}
		if to > 0 {
			q += " AND ev." + seq + " <= " + strconv.FormatInt(to, 10)
		}
		return q
	}
	join := func(after, to int64, values string) string {
		return "SELECT me.entity_id, x.v FROM (" + me(after, to) + ") me JOIN (" + values + ") x ON x.seq = me.seq"
	}
	var parts []string
	if c.cand == "" && c.seqParts {
		for _, p := range seqParts(covered) {
			parts = append(parts, join(p[0], p[1], storedValues(key, upto, fs, p[0], p[1])))
		}
	} else {
		// An incremental run's candidates (a few events), or a backend
		// that joins once.
		parts = append(parts, join(0, covered, storedValues(key, upto, fs, 0, covered)))
	}
	if c.snapshot == 0 || covered < c.snapshot {
		parts = append(parts, join(covered, 0, liveValues(n, covered, window)))
	}
	q := parts[0]
	for _, p := range parts[1:] {
		q += "\nUNION ALL " + p
	}
	return "SELECT x.entity_id FROM (" + q + ") x GROUP BY x.entity_id"
}

// seqParts divides the seqs (0, to] into the parts of a join: (a, b]
// pairs of joinPart seqs, or wider to make no more than joinParts.
func seqParts(to int64) [][2]int64 {
	width := max(joinPart, (to+joinParts-1)/joinParts)
	var out [][2]int64
	for a := int64(0); a < to; a += width {
		out = append(out, [2]int64{a, min(a+width, to)})
	}
	return out
}

// storedValues is the query of the per-event values (columns seq, v) in
// (after, to] that are stored: those kept up to upto, then those of the
// copy of the fields (fs, if set) up to its filled_to.
func storedValues(key, upto int64, fs *fieldSource, after, to int64) string {
	var qs []string
	if hi := min(upto, to); hi > after {
		qs = append(qs, "SELECT seq, v FROM segment_event_values WHERE key = "+strconv.FormatInt(key, 10)+
			" AND seq > "+strconv.FormatInt(after, 10)+" AND seq <= "+strconv.FormatInt(hi, 10))
	}
	if fs != nil {
		if lo, hi := max(upto, after), min(fs.upto, to); hi > lo {
			qs = append(qs, fs.values(lo, hi))
		}
	}
	if len(qs) == 0 {
		return "SELECT CAST(NULL AS BIGINT) AS seq, CAST(NULL AS DOUBLE PRECISION) AS v WHERE FALSE"
	}
	q := qs[0]
	for _, x := range qs[1:] {
		q += "\nUNION ALL " + x
	}
	return q
}
