package console

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/store"
)

// The distribution of an attribute: its most frequent values, or for a
// number with more distinct values than fit, a histogram.
const (
	// topValues is how many of the most frequent values the page lists.
	topValues = 20
	// histogramBuckets is how many bars a number's histogram has.
	histogramBuckets = 20
)

func (c *Console) attributeRoutes() {
	c.page(keys.ScopeRead, "GET "+Prefix+"attributes", c.attributes)
	c.page(keys.ScopeRead, "GET "+Prefix+"attributes/{id}", c.attribute)
	c.addNav("Attributes", Prefix+"attributes", nil)
}

// attributesData is what the attributes page shows.
type attributesData struct {
	Attributes []attributeRow
	// Chart is how many customers have a value, per attribute.
	Chart  template.HTML
	Failed int
}

// attributes is GET /console/attributes: every definition of the config
// in force with its last run, as GET /v1/attributes answers.
func (c *Console) attributes(w http.ResponseWriter, r *http.Request, s *Session) {
	infos, ok := c.attributeInfos(w, r, s)
	if !ok {
		return
	}
	d := attributesData{Attributes: infos}
	labels := make([]string, len(infos))
	customers := make([]float64, len(infos))
	for i, in := range infos {
		labels[i], customers[i] = in.ID, float64(in.Customers)
		if in.Status == "error" {
			d.Failed++
		}
	}
	if len(infos) > 0 {
		d.Chart = BarChart("Customers with a value, per attribute", labels, []Series{{Name: "customers", Values: customers}})
	}
	c.show(w, r, s, "attributes", "Attributes", d)
}

// attributeRow is an attribute with the duration of its last run.
type attributeRow struct {
	attr.Info
	Took time.Duration
}

// attributeInfos reads the definitions in force with their last runs.
func (c *Console) attributeInfos(w http.ResponseWriter, r *http.Request, s *Session) ([]attributeRow, bool) {
	_, cfg, err := c.cfg.Pipeline.Config(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The config in force could not be read: "+err.Error())
		return nil, false
	}
	states, err := c.cfg.Store.AttributeStates(r.Context())
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The attributes' runs could not be read: "+err.Error())
		return nil, false
	}
	infos := attr.Infos(cfg.Attributes, states)
	rows := make([]attributeRow, len(infos))
	for i, in := range infos {
		rows[i] = attributeRow{in, time.Duration(in.DurationMS * float64(time.Millisecond))}
	}
	return rows, true
}

// attributeData is what an attribute's page shows.
type attributeData struct {
	attributeRow
	// Values are the most frequent values, typed for display.
	Values []store.ValueCount
	// More: the attribute has more distinct values than Values.
	More bool
	// Histogram: the chart is a histogram of the values, not one bar per
	// value.
	Histogram bool
	Chart     template.HTML
}

// attribute is GET /console/attributes/{id}: a definition, its last run
// and the distribution of its values from the values cache.
func (c *Console) attribute(w http.ResponseWriter, r *http.Request, s *Session) {
	infos, ok := c.attributeInfos(w, r, s)
	if !ok {
		return
	}
	i := slices.IndexFunc(infos, func(in attributeRow) bool { return in.ID == r.PathValue("id") })
	if i < 0 {
		c.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("There is no attribute %q in the config in force.", r.PathValue("id")))
		return
	}
	d := attributeData{attributeRow: infos[i]}
	// One more than shown says whether more values exist.
	_, counts, err := c.cfg.Store.AttributeValueCounts(r.Context(), d.ID, topValues+1)
	if err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The attribute's values could not be read: "+err.Error())
		return
	}
	if d.More = len(counts) > topValues; d.More {
		counts = counts[:topValues]
	}
	d.Values = counts
	if err := d.draw(r, c.cfg.Store); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The attribute's distribution could not be read: "+err.Error())
		return
	}
	c.show(w, r, s, "attribute", "Attribute "+d.ID, d)
}

// draw charts the distribution: a histogram for a number with more
// distinct values than the page lists; otherwise a bar per value, numbers
// in their order, other values most frequent first.
func (d *attributeData) draw(r *http.Request, st store.Store) error {
	if len(d.Values) == 0 {
		return nil
	}
	numeric := d.DataType == attr.DataInt || d.DataType == attr.DataFloat
	title := "Customers per value of " + d.ID
	if numeric && d.More {
		buckets, err := st.AttributeHistogram(r.Context(), d.ID, histogramBuckets)
		if err != nil {
			return err
		}
		labels := make([]string, len(buckets))
		counts := make([]float64, len(buckets))
		for i, b := range buckets {
			labels[i], counts[i] = trimFloat(b.From), float64(b.Count)
		}
		d.Histogram = true
		d.Chart = BarChart(title+" (histogram: each bar from its label to the next)", labels, []Series{{Name: "customers", Values: counts}})
		return nil
	}
	values := slices.Clone(d.Values)
	if numeric {
		slices.SortFunc(values, func(a, b store.ValueCount) int {
			x, _ := strconv.ParseFloat(a.Value, 64)
			y, _ := strconv.ParseFloat(b.Value, 64)
			return cmp.Compare(x, y)
		})
	}
	labels := make([]string, len(values))
	counts := make([]float64, len(values))
	for i, v := range values {
		labels[i], counts[i] = v.Value, float64(v.Count)
	}
	d.Chart = BarChart(title, labels, []Series{{Name: "customers", Values: counts}})
	return nil
}
