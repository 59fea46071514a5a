package console

import (
	"cmp"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/store"
)

// overviewDays is how many days (those with events, the latest) the chart
// of events per day shows.
const overviewDays = 30

func (c *Console) overviewRoutes() {
	c.figures = newFigures(c.cfg.Store, c.cfg.Now, c.log)
	c.page(keys.ScopeRead, "GET "+Prefix+"{$}", c.overview)
	c.addNav("Overview", Prefix, nil)
}

// overviewData is what the overview shows.
type overviewData struct {
	// Stats is nil until the first count ends (Counting is then true).
	Stats *store.Stats
	// AsOf is when the figures were counted, Took how long that took;
	// Counting: a new count is under way.
	AsOf     time.Time
	Took     time.Duration
	Counting bool
	// Error is the last count's error, when it failed.
	Error string

	Chart, Legend template.HTML
	// Days is how many days the chart shows, of DaysWithEvents.
	Days, DaysWithEvents int
	Types                []typeCount
	Identifiers          []categoryCount
	Refused              []refusal
	Jobs                 []lastRun
}

type typeCount struct {
	store.EventTypeKey
	Events int64
}

type categoryCount struct {
	Category string
	Values   int64
}

// refusal is what stitching refused for one reason (blocked,
// max_per_entity).
type refusal struct {
	Reason string
	store.AuditCount
}

// lastRun is a job of the overview and its last run (nil when it never
// ran).
type lastRun struct {
	Job, Kind, Cron string
	Run             *store.JobRun
	Duration        time.Duration
	Error           string
}

// Failed reports a last run that ended in error.
func (j lastRun) Failed() bool { return j.Run != nil && j.Run.Status == store.RunError }

// overview is GET /console/: the state of the store at a glance. The
// figures come from the last count (see figures); the jobs are read now.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *Session) {
	snap, counting, err := c.figures.get(r.Context(), figuresWait)
	if err != nil && snap == nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The store's figures could not be counted: "+err.Error())
		return
	}
	d := &overviewData{Counting: counting}
	if err != nil {
		d.Error = err.Error()
	}
	if snap != nil {
		d.fill(snap)
	}
	if d.Jobs, err = c.lastRuns(r); err != nil {
		c.fail(w, r, s, http.StatusInternalServerError, "The jobs' runs could not be read: "+err.Error())
		return
	}
	c.show(w, r, s, "overview", "Overview", d)
}

// fill sets the figures of a snapshot.
func (d *overviewData) fill(s *snapshot) {
	d.Stats, d.AsOf, d.Took = s.stats, s.asOf, s.took
	days := slices.Sorted(maps.Keys(s.days))
	d.DaysWithEvents = len(days)
	days = days[max(0, len(days)-overviewDays):]
	d.Days = len(days)
	sources := map[string]bool{}
	for _, day := range days {
		for src := range s.days[day] {
			sources[src] = true
		}
	}
	var series []Series
	for _, src := range slices.Sorted(maps.Keys(sources)) {
		values := make([]float64, len(days))
		for i, day := range days {
			values[i] = float64(s.days[day][src])
		}
		series = append(series, Series{Name: src, Values: values})
	}
	d.Chart = BarChart("Events per day by source", days, series)
	d.Legend = Legend(series)
	for k, n := range s.types {
		d.Types = append(d.Types, typeCount{k, n})
	}
	slices.SortFunc(d.Types, func(a, b typeCount) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.ID(), b.ID()))
	})
	for _, cat := range slices.Sorted(maps.Keys(s.stats.Identifiers)) {
		d.Identifiers = append(d.Identifiers, categoryCount{cat, s.stats.Identifiers[cat]})
	}
	for _, reason := range slices.Sorted(maps.Keys(s.stats.Audit)) {
		d.Refused = append(d.Refused, refusal{reason, s.stats.Audit[reason]})
	}
}

// lastRuns lists the jobs of the jobs page that are scheduled or have
// run, with their last runs.
func (c *Console) lastRuns(r *http.Request) ([]lastRun, error) {
	latest, err := c.cfg.Store.JobRunLatest(r.Context())
	if err != nil {
		return nil, err
	}
	var rows []jobRow
	if c.cfg.Pipeline != nil {
		rows = c.jobRows(latest)
	} else {
		for _, job := range slices.Sorted(maps.Keys(latest)) {
			rows = append(rows, jobRow{Name: job, Kind: latest[job].Kind, Last: latest[job]})
		}
	}
	now := c.cfg.Now()
	var out []lastRun
	for _, j := range rows {
		if j.Last == nil && j.Cron == "" {
			continue
		}
		l := lastRun{Job: j.Name, Kind: j.Kind, Cron: j.Cron, Run: j.Last}
		if run := j.Last; run != nil {
			if n := len(run.Errors); n > 0 {
				l.Error = run.Errors[n-1]
			}
			if run.StartedAt != nil {
				end := now
				if run.CompletedAt != nil {
					end = *run.CompletedAt
				}
				l.Duration = end.Sub(*run.StartedAt)
			}
		}
		out = append(out, l)
	}
	return out, nil
}
