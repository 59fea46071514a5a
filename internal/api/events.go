package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/store"
)

// eventsIngest is POST /v1/events.
func (h *handler) eventsIngest(w http.ResponseWriter, r *http.Request) {
	if !h.ingestSlot(w, r) {
		return
	}
	defer h.ingestDone()
	body, err := h.requestBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer body.Close()
	format, err := bodyFormat(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	batch, err := event.Decode(body, format)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	keepAllowedSources(r, batch)
	res, err := h.ingester.Ingest(r.Context(), batch)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.ingested(res)
	writeJSON(w, http.StatusOK, res)
}

// ingestSlot waits for one of the ingest requests decoded at once; false
// (answered) when the client went away first. ingestDone frees it.
func (h *handler) ingestSlot(w http.ResponseWriter, r *http.Request) bool {
	select {
	case h.ingestSem <- struct{}{}:
		return true
	case <-r.Context().Done():
		h.writeError(w, r, r.Context().Err())
		return false
	}
}

func (h *handler) ingestDone() { <-h.ingestSem }

// ingested counts what an ingest did and wakes stitching for new events.
func (h *handler) ingested(res *event.Result) {
	h.metrics.ingested.Add(float64(res.Accepted))
	h.metrics.duplicates.Add(float64(res.Duplicates))
	h.metrics.suppressed.Add(float64(res.Suppressed))
	h.metrics.rejected.Add(float64(len(res.Rejected)))
	if res.Accepted > 0 && h.pipeline != nil {
		h.pipeline.EventsArrived()
	}
}

// requestBody limits the body, before and after gzip decoding.
func (h *handler) requestBody(w http.ResponseWriter, r *http.Request) (io.ReadCloser, error) {
	return h.requestBodyMax(w, r, h.maxBody)
}

// requestBodyMax limits the body to max bytes, before and after gzip
// decoding.
func (h *handler) requestBodyMax(w http.ResponseWriter, r *http.Request, max int64) (io.ReadCloser, error) {
	body := http.MaxBytesReader(w, r.Body, max)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, gzipError(err)
		}
		return http.MaxBytesReader(nil, gzipReader{zr}, max), nil
	default:
		return nil, &Error{http.StatusUnsupportedMediaType, "unsupported_encoding", fmt.Sprintf("Content-Encoding %s is not supported (use gzip or none)", clip.Quote(enc))}
	}
}

func bodyFormat(r *http.Request) (event.Format, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return event.FormatAuto, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, badRequest("bad Content-Type " + clip.Quote(ct) + ": " + err.Error())
	}
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		return event.FormatNDJSON, nil
	case "application/json":
		return event.FormatJSON, nil
	case "text/plain", "application/octet-stream":
		return event.FormatAuto, nil
	}
	return 0, &Error{http.StatusUnsupportedMediaType, "unsupported_media_type",
		fmt.Sprintf("Content-Type %s is not supported: send application/json (an array) or application/x-ndjson", clip.Quote(mt))}
}

// eventsListResponse is a page of the log.
type eventsListResponse struct {
	Events []store.Event `json:"events"`
	// NextAfterSeq is the after_seq of the next page (ascending order).
	NextAfterSeq int64 `json:"next_after_seq"`
}

// eventsList is GET /v1/events?after_seq=&limit=&source_id=&type=&order=.
func (h *handler) eventsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := store.EventListParams{SourceID: q.Get("source_id"), Type: q.Get("type")}
	var err error
	if p.AfterSeq, err = intParam(q.Get("after_seq"), 0, 0, 1<<63-1, "after_seq"); err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := intParam(q.Get("limit"), 100, 1, store.EventListLimitMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p.Limit = int(limit)
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		p.Desc = true
	default:
		h.writeError(w, r, badRequest(`order must be "asc" or "desc"`))
		return
	}
	events, err := h.store.EventList(r.Context(), &p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	resp := eventsListResponse{Events: events, NextAfterSeq: p.AfterSeq}
	if n := len(events); n > 0 && !p.Desc {
		resp.NextAfterSeq = events[n-1].Seq
	}
	writeJSON(w, http.StatusOK, resp)
}

func intParam(s string, def, lo, hi int64, name string) (int64, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, badRequest(fmt.Sprintf("%s must be an integer from %d to %d, got %s", name, lo, hi, clip.Quote(s)))
	}
	return v, nil
}

// gzipReader reports corrupt compressed data as the client's fault.
type gzipReader struct{ zr *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError(err)
	}
	return n, err
}

func (g gzipReader) Close() error { return g.zr.Close() }

func gzipError(err error) error {
	var tooLarge *http.MaxBytesError
	var apiErr *Error // such as the body's read timeout
	if errors.As(err, &tooLarge) || errors.As(err, &apiErr) {
		return err
	}
	return badRequest("Content-Encoding is gzip but the body is not valid gzip data: " + err.Error())
}

// eventError maps the errors of package event.
func eventError(err error) (int, string, bool) {
	if errors.Is(err, event.ErrNotJSON) {
		return http.StatusBadRequest, "invalid_body", true
	}
	return 0, "", false
}
