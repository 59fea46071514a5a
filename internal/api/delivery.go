package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/delivery"
)

// IntrospectionHeader, set to 1 on POST /deliver, asks for each
// insertion's score parts in the response's introspectionData.
const IntrospectionHeader = "x-weft-introspection"

// deliver is POST /deliver, the Delivery API (package delivery).
func (h *handler) deliver(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !h.admit(w, r) {
		return
	}
	defer h.deliverGate.leave()
	body, release, err := h.readGated(w, r, h.deliverGate)
	defer release()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out, err := h.delivery.Deliver(r.Context(), body, delivery.DeliverOpts{Introspect: r.Header.Get(IntrospectionHeader) == "1"})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("Vary", "Accept-Encoding")
	// What the server took, from reading the body to the answer ready (the
	// delivery bench reads it; browsers show it in their timing panes).
	w.Header().Set("Server-Timing", fmt.Sprintf("deliver;dur=%.3f", float64(time.Since(start).Microseconds())/1000))
	if !acceptsGzip(r) {
		_, _ = w.Write(out)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	zw := gzip.NewWriter(w)
	_, _ = zw.Write(out)
	_ = zw.Close()
}

// logRequest is POST /log, the Metrics API: 200 with {} once the records
// are durable.
func (h *handler) logRequest(w http.ResponseWriter, r *http.Request) {
	if !h.admit(w, r) {
		return
	}
	defer h.deliverGate.leave()
	body, release, err := h.readGated(w, r, h.deliverGate)
	defer release()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.delivery.Log(r.Context(), body); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// acceptsGzip reads Accept-Encoding: gzip, unless its q is 0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err != nil || v > 0
	}
	return false
}

// deliveryError maps the errors of package delivery.
func deliveryError(err error) (int, string, bool) {
	var reqErr *delivery.RequestError
	if errors.As(err, &reqErr) {
		return http.StatusBadRequest, "invalid_request", true
	}
	return 0, "", false
}
