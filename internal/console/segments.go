package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"

	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/segment"
	"github.com/weftdata/weft/internal/store"
)

// What the segments pages show.
const (
	// sizeHistoryRuns is how many runs a segment's size history draws.
	sizeHistoryRuns = 60
	// runsListed is how many runs a segment's page lists.
	runsListed = 20
	// membersSample is how many members a segment's page lists.
	membersSample = 20
)

// The segments pages exist only while the config declares segments:
// before that /console/segments is as unknown as any other path, and the
// navigation has no entry.
func (c *Console) segmentRoutes() {
	c.page(keys.ScopeRead, "GET "+Prefix+"segments", c.segments)
	c.page(keys.ScopeRead, "GET "+Prefix+"segments/{id}", c.segmentPage)
	// A preview changes nothing (scope read), but it is a form post:
	// its CSRF token is checked like any other.
	c.page(keys.ScopeRead, "POST "+Prefix+"segments/preview", c.segmentPreview)
	c.addNav("Segments", Prefix+"segments", func(r *http.Request) bool {
		defs, err := c.segmentDefs(r)
		return err == nil && len(defs) > 0
	})
}

func (c *Console) segmentDefs(r *http.Request) ([]segment.Definition, error) {
	_, cfg, err := c.cfg.Pipeline.Config(r.Context())
	if err != nil {
		return nil, err
	}
	return cfg.Segments, nil
}

// segmentsInForce reads the segments of the config in force, or answers:
// 404 when there are none, as for any unknown page.
func (c *Console) segmentsInForce(w http.ResponseWriter, r *http.Request, s *Session) ([]segment.Definition, bool) {
	defs, err := c.segmentDefs(r)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The config in force could not be read: "+err.Error())
		return nil, false
	}
	if len(defs) == 0 {
		c.fail(w, r, s, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
		return nil, false
	}
	return defs, true
}

// segmentRow is a segment as the list shows it.
type segmentRow struct {
	segment.Definition
	Size    int64
	Status  string
	LastRun *store.SegmentRun
	Chart   template.HTML
}

// segmentsData is the list of segments with the builder.
type segmentsData struct {
	Segments []segmentRow
	Builder  builderData
}

// builderData is the condition builder: the tree as written and its
// preview.
type builderData struct {
	Tree string
	// Previewed: Count and Sample are the preview of Tree.
	Previewed bool
	Count     int64
	Sample    []string
	// Error is why the tree was refused; Path where in it, when known.
	Error, Path string
}

// segments is GET /console/segments: every segment with its size and
// size history, and the builder.
func (c *Console) segments(w http.ResponseWriter, r *http.Request, s *Session) {
	c.showSegments(w, r, s, http.StatusOK, builderData{Tree: builderExample})
}

// builderExample is the builder's starting tree.
const builderExample = "all:\n  - {identifier: email}\n"

func (c *Console) showSegments(w http.ResponseWriter, r *http.Request, s *Session, status int, b builderData) {
	defs, ok := c.segmentsInForce(w, r, s)
	if !ok {
		return
	}
	rows, err := c.segmentRows(r, defs)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The segments could not be read: "+err.Error())
		return
	}
	c.render(w, r, status, "segments", &View{Title: "Segments", Session: s, Data: segmentsData{rows, b}})
}

// segmentRows reads the sizes, last runs and size histories of every
// segment: two queries for them all.
func (c *Console) segmentRows(r *http.Request, defs []segment.Definition) ([]segmentRow, error) {
	ids := make([]string, len(defs))
	for i, d := range defs {
		ids[i] = d.ID
	}
	states, err := c.cfg.Store.SegmentStates(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	history, err := c.cfg.Store.SegmentRunHistory(r.Context(), ids, sizeHistoryRuns)
	if err != nil {
		return nil, err
	}
	rows := make([]segmentRow, len(defs))
	for i, d := range defs {
		rows[i] = segmentRow{Definition: d, Status: "pending"}
		if st := states[d.ID]; st != nil {
			rows[i].Size, rows[i].LastRun = st.Size, st.LastRun
			if st.LastRun != nil {
				rows[i].Status = st.LastRun.Status
			}
		}
		rows[i].Chart = sizeChart(d.ID, history[d.ID])
	}
	return rows, nil
}

// sizeChart draws a segment's size after each run, oldest first.
func sizeChart(id string, runs []store.SegmentRun) template.HTML {
	if len(runs) == 0 {
		return ""
	}
	labels := make([]string, len(runs))
	sizes := make([]float64, len(runs))
	for i, run := range runs {
		labels[i], sizes[i] = run.FinishedAt.UTC().Format("01-02 15:04"), float64(run.Size)
	}
	return LineChart("Size of "+id+" after each run", labels, []Series{{Name: "members", Values: sizes}})
}

// segmentData is a segment's page.
type segmentData struct {
	segmentRow
	Tree    condNode
	Runs    []store.SegmentRun
	Members []store.SegmentMember
	// MoreMembers: the segment has more members than listed.
	MoreMembers bool
}

// segmentPage is GET /console/segments/{id}: a segment's condition, size
// history, last runs and a sample of its members.
func (c *Console) segmentPage(w http.ResponseWriter, r *http.Request, s *Session) {
	defs, ok := c.segmentsInForce(w, r, s)
	if !ok {
		return
	}
	i := slices.IndexFunc(defs, func(d segment.Definition) bool { return d.ID == r.PathValue("id") })
	if i < 0 {
		c.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("There is no segment %q in the config in force.", r.PathValue("id")))
		return
	}
	rows, err := c.segmentRows(r, defs[i:i+1])
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The segment could not be read: "+err.Error())
		return
	}
	d := segmentData{segmentRow: rows[0], Tree: describe(&defs[i].Condition)}
	if d.Runs, err = c.cfg.Store.SegmentRunList(r.Context(), defs[i].ID, runsListed); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The segment's runs could not be read: "+err.Error())
		return
	}
	// One more than listed says whether more follow.
	d.Members, err = c.cfg.Store.SegmentMemberList(r.Context(), &store.SegmentMemberListParams{SegmentID: defs[i].ID, Limit: membersSample + 1})
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The segment's members could not be read: "+err.Error())
		return
	}
	if d.MoreMembers = len(d.Members) > membersSample; d.MoreMembers {
		d.Members = d.Members[:membersSample]
	}
	c.show(w, r, s, "segment", "Segment "+defs[i].ID, d)
}

// segmentPreview is POST /console/segments/preview {tree, csrf_token}: the
// count of the tree through the preview engine (as POST
// /v1/segments/preview), shown in the builder; with Accept:
// application/json (the builder's script), the count alone as JSON.
func (c *Console) segmentPreview(w http.ResponseWriter, r *http.Request, s *Session) {
	b := builderData{Tree: r.PostForm.Get("tree")}
	if _, ok := c.segmentsInForce(w, r, s); !ok {
		return
	}
	status := c.preview(r, &b)
	if r.Header.Get("Accept") == "application/json" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(previewAnswer{b.Count, b.Sample, b.Error, b.Path})
		return
	}
	c.showSegments(w, r, s, status, b)
}

// previewAnswer is the JSON answer of a preview for the builder's script.
type previewAnswer struct {
	Count  int64    `json:"count"`
	Sample []string `json:"sample"`
	Error  string   `json:"error,omitempty"`
	Path   string   `json:"path,omitempty"`
}

// preview fills in the preview of b.Tree and returns the status to answer
// with: 400 for a tree that is refused.
func (c *Console) preview(r *http.Request, b *builderData) int {
	cond, err := segment.ParseTree([]byte(b.Tree))
	if err != nil {
		b.Error = err.Error()
		return http.StatusBadRequest
	}
	p, err := c.cfg.Pipeline.SegmentPreview(r.Context(), cond)
	var segErr *segment.Error
	switch {
	case errors.As(err, &segErr):
		b.Error, b.Path = segErr.Error(), segErr.Path
		return http.StatusBadRequest
	case err != nil && r.Context().Err() != nil:
		// The builder's script aborted it for a newer count.
		b.Error = "The preview was cancelled."
		return http.StatusServiceUnavailable
	case err != nil:
		c.log.Error("console: segment preview", "error", err)
		b.Error = "The preview failed: " + err.Error()
		return http.StatusInternalServerError
	}
	b.Previewed, b.Count, b.Sample = true, p.Count, p.Sample
	if b.Sample == nil {
		b.Sample = []string{}
	}
	return http.StatusOK
}
