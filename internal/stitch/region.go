package stitch

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// regionPlan is what a pass writes for the components it re-clustered
// from their events.
type regionPlan struct {
	old   []existingEntity // the live entities of the region before
	r     *region
	c     *clustering
	batch []int32  // the region's events that are the batch's: index in the batch (-1 for the old ones)
	ids   []string // per cluster: its entity id
	// kept[c] is the old entity (index in old) cluster c keeps the id of,
	// or -1; revived[c] tells that its id names an entity merged away
	// before, which lives again.
	kept    []int32
	revived []bool
	gone    []goneEntity // old entities that are no longer live
	merges  []merge
	splits  []split
	// per cluster, indexes in c.refused (indexRefused)
	firstRefused, firstBatchRefused []int32
}

type goneEntity struct {
	old  int32
	into int32 // the cluster it points to now
}

type split struct {
	entity     string
	parts      []string
	key        identKey
	seq        int64
	revealed   bool   // key and seq say which link revealed the conflict
	constraint string // the manual constraint that made it, if any
}

// recluster re-clusters the components of the batch's events evs and of
// the existing entities start[ents], with every entity cut from the same
// components before. cause names the constraint that asked for it ("" for
// a pass).
func (e *Engine) recluster(ctx context.Context, b *batch, evs []int32, start []existingEntity, ents []int32, cause string) (*regionPlan, error) {
	rp := &regionPlan{}
	for _, i := range ents {
		rp.old = append(rp.old, start[i])
	}
	t0 := time.Now()
	if err := e.regionEntities(ctx, rp); err != nil {
		return nil, err
	}
	if trace {
		traceSince(t0, "region: entities of cut components", len(rp.old))
	}
	r := &region{}
	keyIx := map[identKey]int32{}
	keyOf := func(k identKey) int32 {
		ix, ok := keyIx[k]
		if !ok {
			k.value = strings.Clone(k.value) // it may point into a packed row
			ix = int32(len(r.keys))
			keyIx[k] = ix
			r.keys = append(r.keys, k)
		}
		return ix
	}
	t0 = time.Now()
	oldOf, err := e.regionEvents(ctx, rp, r, keyOf)
	if err != nil {
		return nil, err
	}
	if trace {
		traceSince(t0, "region: events and identifiers", len(r.events))
	}
	for range r.events {
		rp.batch = append(rp.batch, -1)
	}
	for _, ev := range evs {
		re := regionEvent{seq: b.seqs[ev], at: b.ats[ev], id: b.id(int(ev))}
		re.eid = entityID(re.id)
		for _, k := range b.eventKeys(int(ev)) {
			re.keys = append(re.keys, keyOf(b.keys[k]))
		}
		r.events = append(r.events, re)
		rp.batch = append(rp.batch, ev)
	}
	t0 = time.Now()
	if err := e.eventIDs(ctx, r, e.idsNeeded(rp, r, oldOf)); err != nil {
		return nil, err
	}
	e.constrain(r, keyIx)
	if err := e.knownAmbiguous(ctx, r); err != nil {
		return nil, err
	}
	rp.r = r
	rp.c = e.cluster(r)
	// The clusters are named by their first events.
	var firsts []int32
	for _, cl := range rp.c.clusters {
		if r.events[cl.first].eid == "" {
			firsts = append(firsts, cl.first)
		}
	}
	if err := e.eventIDs(ctx, r, firsts); err != nil {
		return nil, err
	}
	if trace {
		traceSince(t0, "region: event ids and clustering", len(r.events))
	}
	for _, f := range rp.c.refused {
		if bi := rp.batch[f.ev]; bi >= 0 {
			k := r.keys[f.key]
			b.audit1(auditKey{k.cat, k.value, f.reason}, b.seqs[bi])
		}
	}
	if err := e.diff(ctx, rp, oldOf, cause); err != nil {
		return nil, err
	}
	return rp, nil
}

// regionEntities adds to rp.old the live entities cut from the same
// components as those of rp.old.
func (e *Engine) regionEntities(ctx context.Context, rp *regionPlan) error {
	var labeled plainList
	have := map[string]bool{}
	for _, o := range rp.old {
		have[o.id] = true
		if o.labeled {
			labeled.add(o.id)
		}
	}
	if labeled.n == 0 || e.regionEntitiesIndexed(rp, have) {
		return nil
	}
	rows, err := e.db.QueryContext(ctx, `SELECT id, created_seq, `+firstAtSQL+` FROM entities
		WHERE merged_into IS NULL AND component IN (SELECT component FROM entities WHERE id IN (SELECT `+plainListSQL("$1", "TEXT")+`))`, labeled.String())
	if err != nil {
		return fmt.Errorf("read the entities of cut components: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		x := existingEntity{labeled: true, slot: -1}
		if err := rows.Scan(&x.id, &x.createdSeq, &x.firstAt); err != nil {
			return err
		}
		if have[x.id] {
			continue
		}
		have[x.id] = true
		e.inIndex(&x)
		rp.old = append(rp.old, x)
	}
	return rows.Err()
}

// regionEntitiesIndexed is regionEntities from the index; false (and
// nothing added) when the index cannot tell.
func (e *Engine) regionEntitiesIndexed(rp *regionPlan, have map[string]bool) bool {
	x := e.idx
	if x == nil {
		return false
	}
	var comps []int32
	for _, o := range rp.old {
		if !o.labeled {
			continue
		}
		if o.slot < 0 {
			return false
		}
		// An entity labeled but in no component (a rebuild's, before its
		// re-clustering) adds none: NULL matches nothing in the query.
		if n := x.ents[o.slot].component; n >= 0 && !slices.Contains(comps, n) {
			comps = append(comps, n)
		}
	}
	slices.Sort(comps)
	for _, n := range comps {
		x.componentMembers(n, func(slot int32) {
			ent := x.entity(slot)
			if have[ent.id] {
				return
			}
			have[ent.id] = true
			ent.labeled = true
			ent.counts = nil
			rp.old = append(rp.old, ent)
		})
	}
	return true
}

// regionEvents reads the events of rp.old, with their identifiers, into
// r; oldOf tells, per event, its old entity (index in rp.old).
func (e *Engine) regionEvents(ctx context.Context, rp *regionPlan, r *region, keyOf func(identKey) int32) ([]int32, error) {
	var ids plainList
	oldIx := map[string]int32{}
	for i, o := range rp.old {
		ids.add(o.id)
		oldIx[o.id] = int32(i)
	}
	if ids.n == 0 {
		return nil, nil
	}
	bySeq := map[int64]int32{}
	var oldOf []int32
	which := "ee.entity_id IN (SELECT " + plainListSQL("$1", "TEXT") + ")"
	if keys := e.byKeys("entity_events", "ee.entity_key"); keys != "" {
		// The keys narrow the scan and the ids are compared here: a
		// second semi join, on the ids, cost DuckDB a third more.
		which = strings.TrimSuffix(keys, " AND ")
	}
	// The mappings alone: the event time is their copy of the log's
	// (eventTimeSQL names it unqualified), and the few event ids needed
	// are read after (regionIDs). Joined to the log for every event's id,
	// the read took 165 ms for 250 events at 10M, 60 without.
	rows, err := e.db.QueryContext(ctx, `SELECT ee.event_seq, ee.entity_id, `+eventTimeSQL+`
		FROM entity_events ee WHERE `+which+` ORDER BY ee.event_seq`, ids.String())
	if err != nil {
		return nil, fmt.Errorf("read the events of the region: %w", err)
	}
	var seqs plainList
	for rows.Next() {
		var re regionEvent
		var ent string
		if err := rows.Scan(&re.seq, &ent, &re.at); err != nil {
			rows.Close()
			return nil, err
		}
		o, ok := oldIx[ent]
		if !ok {
			continue // another entity's key
		}
		if rp.old[o].nameSeq == re.seq {
			re.eid = rp.old[o].id
		}
		bySeq[re.seq] = int32(len(r.events))
		r.events = append(r.events, re)
		oldOf = append(oldOf, o)
		seqs.addInt(re.seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the events of the region: %w", err)
	}
	if len(e.rules) == 0 || seqs.n == 0 || e.carriedKeys(r, keyOf) {
		return oldOf, nil
	}
	if trace {
		defer traceSince(time.Now(), "region: identifiers from the log", seqs.n)
	}
	e.loggedUsed += seqs.n
	err = e.confined(ctx, func(x store.Executor) error {
		return scanPacked(ctx, x, "SELECT string_agg(concat(seq, chr(30), rule, chr(30), "+escapeSQL("v")+"), chr(31)) FROM (\n"+
			e.extractSQL(e.regionRows())+"\n) x GROUP BY seq - seq % 65536", []any{seqs.String()}, 3,
			func(f []string) error {
				seq, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return err
				}
				rule, err := strconv.Atoi(f[1])
				if err != nil || rule < 0 || rule >= len(e.rules) {
					return fmt.Errorf("bad rule number %q", f[1])
				}
				ev, ok := bySeq[seq]
				if !ok {
					return fmt.Errorf("event %d is not in the region", seq)
				}
				k := identKey{e.rules[rule].cat, unescape(f[2])}
				if e.isBlocked(k) {
					return nil
				}
				ix := keyOf(k)
				if !slices.Contains(r.events[ev].keys, ix) {
					r.events[ev].keys = append(r.events[ev].keys, ix)
				}
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate stitching rules on the region: %w", err)
	}
	return oldOf, nil
}

// idsNeeded lists the events of the region whose ids must be read before
// it is clustered: those whose event_time another shares (eventBefore
// compares their ids), those of old entities whose naming event is not
// known (an index loaded from the tables), and all of them when manual
// merges name events by id. The first event of each cluster, which names
// it, is read after the clustering if its id is still unknown. Reading
// every event's id from the log cost DuckDB 100 to 200 ms a pass at 10M
// events (the log has no index on seq).
func (e *Engine) idsNeeded(rp *regionPlan, r *region, oldOf []int32) []int32 {
	anchors := len(e.cons.anchors) > 0
	at := make(map[int64]int32, len(r.events))
	for i := range r.events {
		at[r.events[i].at]++
	}
	var need []int32
	for i := range r.events {
		ev := &r.events[i]
		if ev.id != "" {
			continue
		}
		if anchors || at[ev.at] > 1 || (i < len(oldOf) && rp.old[oldOf[i]].nameSeq == 0) {
			need = append(need, int32(i))
		}
	}
	return need
}

// eventIDsLiteral is the most seqs eventIDs names in the text of its
// query: a list of constants, which DuckDB checks against the log's zone
// maps (the log is in seq order), reads the row groups that hold them
// only (35 ms for 250 events at 10M, against 105 to 200 ms for the same
// seqs joined from a list).
const eventIDsLiteral = 2_000

// eventIDs reads the ids of the region's events evs from the log.
func (e *Engine) eventIDs(ctx context.Context, r *region, evs []int32) error {
	if len(evs) == 0 {
		return nil
	}
	e.idsRead += len(evs)
	if trace {
		defer traceSince(time.Now(), "region: event ids from the log", len(evs))
	}
	bySeq := make(map[int64]int32, len(evs))
	var list plainList
	var lit strings.Builder
	for i, ev := range evs {
		seq := r.events[ev].seq
		bySeq[seq] = ev
		list.addInt(seq)
		if i > 0 {
			lit.WriteByte(',')
		}
		lit.WriteString(strconv.FormatInt(seq, 10))
	}
	q, args := "SELECT seq, id FROM event_log WHERE seq IN ("+lit.String()+")", []any(nil)
	if len(evs) > eventIDsLiteral {
		q, args = "SELECT ev.seq, ev.id FROM (SELECT "+plainListSQL("$1", "BIGINT")+" AS seq) q JOIN event_log ev ON ev.seq = q.seq", []any{list.String()}
	}
	rows, err := e.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read the ids of the region's events: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			return err
		}
		if ev, ok := bySeq[seq]; ok {
			r.events[ev].id, r.events[ev].eid = id, entityID(id)
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the ids of the region's events: %w", err)
	}
	if n != len(bySeq) {
		return fmt.Errorf("read the ids of the region's events: %d of %d events are in the log", n, len(bySeq))
	}
	return nil
}

// inIndex gives x its slot in the index and what the index knows of it
// beyond the tables.
func (e *Engine) inIndex(x *existingEntity) {
	if e.idx == nil {
		return
	}
	x.slot = e.idx.slotOf(x.id)
	if x.slot >= 0 {
		x.nameSeq = e.idx.ents[x.slot].nameSeq
	}
}

// carriedKeys gives r's events their identifiers from the index
// (carried.go); false (and nothing given) if it lacks those of some event.
func (e *Engine) carriedKeys(r *region, keyOf func(identKey) int32) bool {
	if e.idx == nil || e.idx.carried == nil {
		return false
	}
	x := e.idx
	for i := range r.events {
		if !x.carried.has(r.events[i].seq) {
			return false
		}
	}
	for i := range r.events {
		ev := &r.events[i]
		x.carried.keys(x, ev.seq, func(k identKey) {
			if !e.isBlocked(k) {
				ev.keys = append(ev.keys, keyOf(k))
			}
		})
	}
	e.carriedUsed += len(r.events)
	return true
}

// constrain gives r the manual merges between its events and the split
// sides of its identifiers.
func (e *Engine) constrain(r *region, keyIx map[identKey]int32) {
	c := e.cons
	if len(c.anchors) > 0 {
		byID := map[string]int32{}
		for i := range r.events {
			if c.anchors[r.events[i].id] {
				byID[r.events[i].id] = int32(i)
			}
		}
		for _, m := range c.merges {
			first := int32(-1)
			for _, id := range m.events {
				ev, ok := byID[id]
				switch {
				case !ok:
				case first < 0:
					first = ev
				default:
					r.merges = append(r.merges, [2]int32{first, ev})
				}
			}
		}
	}
	for k, sides := range c.sides {
		if ix, ok := keyIx[k]; ok {
			if r.sides == nil {
				r.sides = map[int32][]splitSide{}
			}
			r.sides[ix] = sides
		}
	}
	r.nSplits = len(c.splits)
}

// diff names the clusters and compares them with the old entities: which
// keep their id, which merged into another, which split.
func (e *Engine) diff(ctx context.Context, rp *regionPlan, oldOf []int32, cause string) error {
	r, c := rp.r, rp.c
	rp.ids = make([]string, len(c.clusters))
	rp.kept = make([]int32, len(c.clusters))
	rp.revived = make([]bool, len(c.clusters))
	oldIx := map[string]int32{}
	for i, o := range rp.old {
		oldIx[o.id] = int32(i)
	}
	var unknown []int32
	for i, cl := range c.clusters {
		rp.ids[i] = r.events[cl.first].eid
		rp.kept[i] = -1
		if o, ok := oldIx[rp.ids[i]]; ok {
			rp.kept[i] = o
		} else {
			unknown = append(unknown, int32(i))
		}
	}
	if err := e.revive(ctx, rp, unknown); err != nil {
		return err
	}
	// Per old entity: the clusters its events went to, and the cluster of
	// the event that named it.
	parts := make([][]int32, len(rp.old))
	named := make([]int32, len(rp.old))
	for i := range named {
		named[i] = -1
	}
	for ev, o := range oldOf {
		cl := c.cluster[ev]
		if !slices.Contains(parts[o], cl) {
			parts[o] = append(parts[o], cl)
		}
		// The event that named it, if it is still there: its seq is
		// known (nameSeq), or its id was read (regionIDs).
		if named[o] < 0 || r.events[ev].eid == rp.old[o].id {
			named[o] = cl
		}
	}
	for o, ps := range parts {
		if len(ps) == 0 {
			continue
		}
		into := named[o]
		if rp.kept[into] != int32(o) {
			rp.gone = append(rp.gone, goneEntity{old: int32(o), into: into})
		}
		if len(ps) == 1 {
			if rp.kept[into] != int32(o) {
				rp.merges = append(rp.merges, rp.mergeOf(int32(o), into))
			}
			continue
		}
		s := split{entity: rp.old[o].id, constraint: cause}
		for _, p := range ps {
			s.parts = append(s.parts, rp.ids[p])
		}
		slices.Sort(s.parts)
		s.key, s.seq, s.revealed = rp.revealing(ps)
		rp.splits = append(rp.splits, s)
	}
	return nil
}

// revive marks the clusters whose id names an entity merged away before.
func (e *Engine) revive(ctx context.Context, rp *regionPlan, clusters []int32) error {
	if len(clusters) == 0 {
		return nil
	}
	if e.idx != nil {
		for _, cl := range clusters {
			rp.revived[cl] = e.idx.slotOf(rp.ids[cl]) >= 0
		}
		return nil
	}
	var ids plainList
	byID := map[string]int32{}
	for _, cl := range clusters {
		ids.add(rp.ids[cl])
		byID[rp.ids[cl]] = cl
	}
	rows, err := e.db.QueryContext(ctx, `SELECT id FROM entities WHERE id IN (SELECT `+plainListSQL("$1", "TEXT")+`)`, ids.String())
	if err != nil {
		return fmt.Errorf("find entities merged away: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		rp.revived[byID[id]] = true
	}
	return rows.Err()
}

// mergeOf is the merge of old entity o into cluster cl, with the first of
// the batch's events in cl (or its first event) and its first identifier.
func (rp *regionPlan) mergeOf(o, cl int32) merge {
	m := merge{survivor: rp.ids[cl], loser: rp.old[o].id, loserSeq: rp.old[o].createdSeq}
	ev := rp.c.clusters[cl].first
	for i, bi := range rp.batch {
		if bi >= 0 && rp.c.cluster[i] == cl {
			ev = int32(i)
			break
		}
	}
	m.seq = rp.r.events[ev].seq
	for _, k := range rp.r.events[ev].keys {
		if rp.c.keyOwner[k] == cl {
			m.key = rp.r.keys[k]
			break
		}
	}
	return m
}

// revealing is the refused link, among the clusters ps, that shows why
// they are apart: the first refused (in the clustering's order) of the
// batch's events if any, else the first.
func (rp *regionPlan) revealing(ps []int32) (identKey, int64, bool) {
	if rp.firstRefused == nil {
		rp.indexRefused()
	}
	found := int32(-1)
	for _, p := range ps { // the first of the batch's
		if f := rp.firstBatchRefused[p]; f >= 0 && (found < 0 || f < found) {
			found = f
		}
	}
	if found < 0 {
		for _, p := range ps {
			if f := rp.firstRefused[p]; f >= 0 && (found < 0 || f < found) {
				found = f
			}
		}
	}
	if found < 0 {
		return identKey{}, 0, false
	}
	f := rp.c.refused[found]
	return rp.r.keys[f.key], rp.r.events[f.ev].seq, true
}

// indexRefused finds, per cluster, its first refused link and its first
// refused link of one of the batch's events (-1 if none): with a split
// per cut entity, scanning every refusal per split cost 5 s at the end of
// a 10M-event rebuild.
func (rp *regionPlan) indexRefused() {
	n := len(rp.c.clusters)
	rp.firstRefused, rp.firstBatchRefused = make([]int32, n), make([]int32, n)
	for i := range n {
		rp.firstRefused[i], rp.firstBatchRefused[i] = -1, -1
	}
	for i, f := range rp.c.refused {
		cl := rp.c.cluster[f.ev]
		if rp.firstRefused[cl] < 0 {
			rp.firstRefused[cl] = int32(i)
		}
		if rp.batch[f.ev] >= 0 && rp.firstBatchRefused[cl] < 0 {
			rp.firstBatchRefused[cl] = int32(i)
		}
	}
}
