package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/identitygraph"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// profileView is the data of templates/profile.html.
type profileView struct {
	*store.Entity
	// From is the merged-away id the visitor asked for.
	From        string
	Categories  []identGroup
	Attributes  []attrRow
	Properties  []propRow
	HasSegments bool
	Events      []eventRow
	// Before is the page's keyset (0: the newest); Older the next one,
	// 0 when this is the last page.
	Before, Older int64
	Merges        []mergeRow
	Graph         template.HTML
	GraphNote     graphNote
}

type identGroup struct {
	Category string
	Values   []string
}

// attrRow is an attribute value as shown: Kind is number, date, bool,
// list or text.
type attrRow struct {
	ID, DataType, Kind string
	Values             []string
}

type propRow struct {
	Plugin, Name, Value, RunID string
	PublishedAt                time.Time
}

type eventRow struct {
	store.Event
	Pretty string
}

type mergeRow struct {
	store.Merge
	Event *store.Event // the event that caused it, when read
}

type graphNote struct {
	Events, Identifiers, Refused int
	MoreEvents, MoreIdentifiers  int64
}

// profile is GET /console/profiles/{id}?before=: one profile. A
// merged-away id redirects to its survivor, which says so.
func (c *Console) profile(w http.ResponseWriter, r *http.Request, s *Session) {
	db, err := c.profileDB()
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, err.Error())
		return
	}
	id := r.PathValue("id")
	e, err := db.EntityGet(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("No profile has the id %q.", id))
		return
	}
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The profile could not be read: "+err.Error())
		return
	}
	if e.MergedFrom != "" {
		// Not live: merged away, or split (the API's profile read
		// answers with the parts then, and so does this page).
		if c.splitProfile(w, r, s, db, id) {
			return
		}
		http.Redirect(w, r, profilePath(e.ID)+"?from="+url.QueryEscape(id), http.StatusSeeOther)
		return
	}
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before <= 0 {
			c.fail(w, r, s, http.StatusBadRequest, "before must be an event seq.")
			return
		}
	}
	v, err := c.readProfile(r.Context(), db, e, before)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The profile could not be read: "+err.Error())
		return
	}
	v.From = r.URL.Query().Get("from")
	c.show(w, r, s, "profile", "Profile "+e.ID, v)
}

// readProfile reads every part of the page: each a bounded query or two.
func (c *Console) readProfile(ctx context.Context, db profileStore, e *store.Entity, before int64) (*profileView, error) {
	_, cfg, err := c.cfg.Pipeline.Config(ctx)
	if err != nil {
		return nil, err
	}
	v := &profileView{Entity: e, Before: before, HasSegments: len(cfg.Segments) > 0}
	for cat, vals := range e.Identifiers {
		v.Categories = append(v.Categories, identGroup{cat, vals})
	}
	sort.Slice(v.Categories, func(i, j int) bool { return v.Categories[i].Category < v.Categories[j].Category })
	if err := c.readValues(ctx, db, cfg, v); err != nil {
		return nil, err
	}
	events, newest, err := timeline(ctx, db, e.ID, before)
	if err != nil {
		return nil, err
	}
	if len(events) > timelinePage {
		events = events[:timelinePage]
		v.Older = events[len(events)-1].Seq
	}
	for _, ev := range events {
		v.Events = append(v.Events, eventRow{ev, prettyJSON(ev.Payload)})
	}
	merges, err := db.EntityMerges(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	// The entity read them with its identifiers: no second read.
	links := e.IdentifierLinks(identitygraph.SampleIdentifiers)
	var total int64
	for _, vals := range e.Identifiers {
		total += int64(len(vals))
	}
	g, err := identitygraph.BuildSample(ctx, db, identitygraph.SampleInput{ID: e.ID, Rules: cfg.EffectiveStitching(), Links: links, Merges: merges,
		Newest: newest, EventsCount: e.EventsCount, IdentifiersCount: total})
	if err != nil {
		return nil, fmt.Errorf("identity graph: %w", err)
	}
	v.Graph = graphSVG(g, "Identity graph of "+e.ID)
	v.GraphNote = graphNote{Events: len(g.Events), Identifiers: len(g.Identifiers), MoreEvents: g.MoreEvents, MoreIdentifiers: g.MoreIdentifiers}
	for _, id := range g.Identifiers {
		if id.Refused != "" {
			v.GraphNote.Refused++
		}
	}
	v.Merges, err = mergeRows(ctx, db, merges, g.Events)
	return v, err
}

// timeline reads the page of events before a seq (one more than a page,
// to tell whether there are older ones) and the newest events the graph
// fills up with: on the first page, one query serves both.
func timeline(ctx context.Context, db profileStore, id string, before int64) (page, newest []store.Event, err error) {
	if before == 0 {
		newest, err = db.ProfileTimeline(ctx, &store.ProfileTimelineParams{ID: id, Limit: max(timelinePage, identitygraph.SampleEvents) + 1})
		return newest[:min(len(newest), timelinePage+1)], newest[:min(len(newest), identitygraph.SampleEvents)], err
	}
	if page, err = db.ProfileTimeline(ctx, &store.ProfileTimelineParams{ID: id, BeforeSeq: before, Limit: timelinePage + 1}); err != nil {
		return nil, nil, err
	}
	newest, err = db.ProfileTimeline(ctx, &store.ProfileTimelineParams{ID: id, Limit: identitygraph.SampleEvents})
	return page, newest, err
}

// readValues reads the attributes, plugin properties and segments, as
// the profiles API fills them in.
func (c *Console) readValues(ctx context.Context, db profileStore, cfg *config.Config, v *profileView) error {
	ids := []string{v.ID}
	raw, err := db.AttributeValuesOf(ctx, ids)
	if err != nil {
		return err
	}
	v.Attributes = attrRows(cfg.Attributes, raw[v.ID])
	if c.cfg.Plugins != nil {
		props, err := c.cfg.Plugins.Properties(ctx)
		if err != nil {
			return err
		}
		vals, err := db.PropertyValuesOf(ctx, ids)
		if err != nil {
			return err
		}
		v.Properties = latestProperties(props, vals[v.ID])
	}
	if !v.HasSegments {
		return nil
	}
	of, err := db.SegmentsOf(ctx, ids)
	if err != nil {
		return err
	}
	inForce := map[string]bool{}
	for _, s := range cfg.Segments {
		inForce[s.ID] = true
	}
	for _, s := range of[v.ID] {
		if inForce[s] {
			v.Segments = append(v.Segments, s)
		}
	}
	return nil
}

// attrRows types the entity's attribute values by their definitions, in
// the config's order.
func attrRows(defs []attr.Definition, raw map[string][]string) []attrRow {
	var out []attrRow
	typed := attr.JSONValues(defs, raw)
	for _, d := range defs {
		val, ok := typed[d.ID]
		if !ok {
			continue
		}
		row := attrRow{ID: d.ID, DataType: d.ResultType(), Kind: kindOf(d.ResultType())}
		if list, isList := val.([]any); isList {
			row.Kind = "list"
			for _, x := range list {
				row.Values = append(row.Values, showValue(x))
			}
		} else {
			row.Values = []string{showValue(val)}
		}
		out = append(out, row)
	}
	return out
}

func kindOf(dataType string) string {
	switch dataType {
	case attr.DataInt, attr.DataFloat:
		return "number"
	case attr.DataDate, attr.DataDatetime:
		return "date"
	case attr.DataBool:
		return "bool"
	}
	return "text"
}

// showValue writes a typed value: numbers in groups, datetimes in UTC.
func showValue(x any) string {
	switch x := x.(type) {
	case int64:
		return formatNumber(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return formatTime(t) + " UTC"
		}
		return x
	}
	return fmt.Sprint(x)
}

// latestProperties keeps the latest published value of each plugin's
// property name the entity has.
func latestProperties(props []plugin.Property, vals map[string]json.RawMessage) []propRow {
	latest := map[[2]string]propRow{}
	for _, p := range props {
		val, ok := vals[p.ID]
		if !ok {
			continue
		}
		k := [2]string{p.Plugin, p.Name}
		if cur, ok := latest[k]; !ok || p.PublishedAt.After(cur.PublishedAt) {
			latest[k] = propRow{Plugin: p.Plugin, Name: p.Name, Value: string(val), RunID: p.RunID, PublishedAt: p.PublishedAt}
		}
	}
	out := make([]propRow, 0, len(latest))
	for _, p := range latest {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Plugin < out[j].Plugin || out[i].Plugin == out[j].Plugin && out[i].Name < out[j].Name
	})
	return out
}

// mergeRows pairs each merge with the event that caused it: the graph
// read most; the rest are read in one query.
func mergeRows(ctx context.Context, db profileStore, merges []store.Merge, known []store.Event) ([]mergeRow, error) {
	bySeq := map[int64]*store.Event{}
	for i := range known {
		bySeq[known[i].Seq] = &known[i]
	}
	var missing []int64
	for _, m := range merges {
		if bySeq[m.EventSeq] == nil {
			missing = append(missing, m.EventSeq)
		}
	}
	more, err := db.ProfileEventsAt(ctx, missing)
	if err != nil {
		return nil, err
	}
	for i := range more {
		bySeq[more[i].Seq] = &more[i]
	}
	out := make([]mergeRow, len(merges))
	for i, m := range merges {
		out[i] = mergeRow{m, bySeq[m.EventSeq]}
	}
	return out, nil
}

// prettyJSON indents a payload for reading; the template escapes it.
func prettyJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

// splitView is the page of an id that split: the split and the live
// profiles its parts are now.
type splitView struct {
	ID    string
	Split *store.Split
	Live  []string
}

// splitProfile answers the page of an id that is not live if it split:
// the split that ended it and the live profiles its parts are now. It
// reports whether it answered.
func (c *Console) splitProfile(w http.ResponseWriter, r *http.Request, s *Session, db profileStore, id string) bool {
	res, err := db.EntityResolve(r.Context(), id)
	if err == nil && res.Split == nil {
		return false
	}
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The profile could not be read: "+err.Error())
		return true
	}
	live, err := db.SplitLiveParts(r.Context(), res.Split.Parts)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The parts of the profile could not be read: "+err.Error())
		return true
	}
	c.show(w, r, s, "profile_split", "Profile "+id+" split", &splitView{ID: id, Split: res.Split, Live: live})
	return true
}
