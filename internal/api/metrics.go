package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series the API exports.
type metrics struct {
	registry   *prometheus.Registry
	ingested   prometheus.Counter
	rejected   prometheus.Counter
	duplicates prometheus.Counter
	suppressed prometheus.Counter
	latency    *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_events_ingested_total", Help: "Events appended to the log.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_events_rejected_total", Help: "Records refused as invalid.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_events_duplicate_total", Help: "Events whose id was already in the log or earlier in the request.",
		}),
		suppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_events_suppressed_total", Help: "Events dropped at ingest because they carry an identifier of an erased person.",
		}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weft_http_request_duration_seconds",
			Help:    "HTTP request latency by route, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
	}
	m.registry.MustRegister(m.ingested, m.rejected, m.duplicates, m.suppressed, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument observes each request's latency under its route pattern (a
// pattern of the route table, or "unmatched"), never the raw path, so that
// ids in paths do not make new series.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.latency.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is the method as a label: any client may send any method
// name, and each new label value is a series every scrape carries forever.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
