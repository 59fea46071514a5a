package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/store"
)

// Error is an error with the status and code to answer it with.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func badRequest(msg string) error { return &Error{http.StatusBadRequest, "bad_request", msg} }

// errorBody is the JSON error shape.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// errorMapper picks the status and code of the errors of one package; ok
// is false for the errors it does not know. Each resource's file holds the
// mapper of the packages it serves, so this file knows none of them.
type errorMapper func(err error) (status int, code string, ok bool)

// resourceErrors are the mappers classify asks in turn, before the errors
// every resource shares (store.ErrNotFound, a client gone away).
var resourceErrors = []errorMapper{deliveryError, eventError, jobError, pluginError, recordError, destinationError}

// internalMessage is all a client learns of a server fault: the detail,
// which may hold SQL text or file paths, goes to the log under the
// request's id.
const internalMessage = "internal error"

// classify picks the status, code and message for an error.
func classify(err error) (int, string, string) {
	var apiErr *Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status, apiErr.Code, apiErr.Message
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body is over the limit of %d bytes (counted before and after gzip decoding): split it into smaller batches", tooLarge.Limit)
	}
	for _, m := range resourceErrors {
		if status, code, ok := m(err); ok {
			return status, code, err.Error()
		}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not_found", err.Error()
	case errors.Is(err, context.Canceled):
		return 499, "canceled", "the client went away"
	default:
		return http.StatusInternalServerError, "internal", internalMessage
	}
}

// writeError answers with the error and logs it once, under the request's
// id: server faults at error level, client mistakes at debug.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := classify(err)
	// Messages quote what the client sent; whatever a message builder
	// forgot to clip, the answer stays small.
	msg = clip.Max(msg, clip.MessageMax)
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	id := requestID(r.Context())
	h.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "request_id", id, "error", err)
	if code == "busy" {
		w.Header().Set("Retry-After", retryAfter)
	}
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.RequestID = code, msg, id
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
