package rank

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// contentStats are one content's logged impressions and actions.
type contentStats struct {
	impressions float64
	actions     []actionCount
}

// actionCount counts one action type (an index into engagement.keys).
type actionCount struct {
	key uint32
	n   float64
}

// engagement is the content statistics of the delivery events up to
// watermark. A value is never changed once published in a snapshot:
// apply and trim work on copies, so requests read it without locks.
type engagement struct {
	content map[string]contentStats
	// keys are the action types seen, in order of first sight; keyIndex
	// finds them. totals counts each over all content.
	keys        []string
	keyIndex    map[string]uint32
	totals      []float64
	impressions float64
	watermark   int64
	// bytes is the memory content, keys and totals take.
	bytes int64
}

func newEngagement() *engagement {
	return &engagement{content: map[string]contentStats{}, keyIndex: map[string]uint32{}}
}

// engagementRow is one row of RankEngagement.
type engagementRow struct {
	content, typ, action string
	n                    int64
}

// load reads the events after e's watermark and returns e with them
// added: only new events are read, so a refresh costs what arrived since
// the last one. e itself is left as it was.
func (e *engagement) load(ctx context.Context, db DB) (*engagement, error) {
	var upTo int64
	if err := db.QueryRowContext(ctx, db.Query("RankMaxSeq")).Scan(&upTo); err != nil {
		return nil, fmt.Errorf("read the event log's last seq: %w", err)
	}
	if upTo <= e.watermark {
		return e, nil
	}
	rows, err := db.QueryContext(ctx, db.Query("RankEngagement"), e.watermark, upTo)
	if err != nil {
		return nil, fmt.Errorf("count delivery events: %w", err)
	}
	defer rows.Close()
	var delta []engagementRow
	for rows.Next() {
		var r engagementRow
		if err := rows.Scan(&r.content, &r.typ, &r.action, &r.n); err != nil {
			return nil, fmt.Errorf("count delivery events: %w", err)
		}
		delta = append(delta, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count delivery events: %w", err)
	}
	next := e.apply(delta)
	next.watermark = upTo
	return next, nil
}

// apply returns a copy of e with the rows added.
func (e *engagement) apply(delta []engagementRow) *engagement {
	next := *e
	if len(delta) == 0 {
		return &next
	}
	next.content = maps.Clone(e.content)
	next.keyIndex = maps.Clone(e.keyIndex)
	next.totals = slices.Clone(e.totals)
	copied := map[string]bool{} // contents whose actions are already copies
	for _, r := range delta {
		st, known := next.content[r.content]
		if !known {
			next.bytes += mapEntryBytes(stringHeader, contentStatsSize) + int64(len(r.content))
		}
		if r.typ == "impression" {
			st.impressions += float64(r.n)
			next.impressions += float64(r.n)
			next.content[r.content] = st
			continue
		}
		if !copied[r.content] {
			st.actions = slices.Clone(st.actions)
			copied[r.content] = true
		}
		k := next.key(r.action)
		next.totals[k] += float64(r.n)
		i := slices.IndexFunc(st.actions, func(a actionCount) bool { return a.key == k })
		if i < 0 {
			st.actions = append(st.actions, actionCount{key: k})
			i = len(st.actions) - 1
			next.bytes += actionCountSize
		}
		st.actions[i].n += float64(r.n)
		next.content[r.content] = st
	}
	return &next
}

// key interns an action type.
func (e *engagement) key(action string) uint32 {
	if k, ok := e.keyIndex[action]; ok {
		return k
	}
	k := uint32(len(e.keys))
	e.keys = append(e.keys, action)
	e.keyIndex[action] = k
	e.totals = append(e.totals, 0)
	// The map's key shares the slice element's bytes.
	e.bytes += stringBytes(action) + mapEntryBytes(stringHeader, int32Size) + float64Size
	return k
}

// trim drops the least engaged contents (fewest impressions and actions,
// then by id) until e takes at most limit bytes, and says how many it
// dropped. Their counts are lost: they rank as new items until they
// gather enough events to be kept again. The global totals keep them.
func (e *engagement) trim(limit int64) (*engagement, int) {
	if e.bytes <= limit {
		return e, 0
	}
	type weighed struct {
		id    string
		count float64
	}
	all := make([]weighed, 0, len(e.content))
	for id, st := range e.content {
		c := st.impressions
		for _, a := range st.actions {
			c += a.n
		}
		all = append(all, weighed{id, c})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].count != all[j].count {
			return all[i].count < all[j].count
		}
		return all[i].id < all[j].id
	})
	next := *e
	next.content = maps.Clone(e.content)
	dropped := 0
	for _, w := range all {
		if next.bytes <= limit {
			break
		}
		st := next.content[w.id]
		next.bytes -= mapEntryBytes(stringHeader, contentStatsSize) + int64(len(w.id)) + int64(len(st.actions))*actionCountSize
		delete(next.content, w.id)
		dropped++
	}
	return &next, dropped
}
