package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/weftdata/weft/internal/delivery"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/jobrunner"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/pluginrun"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
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
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// classify picks the status and code for an error.
func classify(err error) (int, string, string) {
	var apiErr *Error
	var tooLarge *http.MaxBytesError
	var params *jobrunner.ParamsError
	var pluginPath *plugin.PathError
	var pluginExpired *plugin.ExpiredError
	var pluginMethod *plugin.MethodError
	var pluginTooLarge *plugin.TooLargeError
	var pluginInput *plugin.InputError
	var deliveryErr *delivery.RequestError
	var noDeployment *plugin.NoDeploymentError
	var upstream *plugin.UpstreamError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Status, apiErr.Code, apiErr.Message
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body is over the limit of %d bytes (counted before and after gzip decoding): split it into smaller batches", tooLarge.Limit)
	case errors.As(err, &deliveryErr):
		return http.StatusBadRequest, "invalid_request", err.Error()
	case errors.Is(err, event.ErrNotJSON):
		return http.StatusBadRequest, "invalid_body", err.Error()
	case errors.As(err, &params):
		return http.StatusBadRequest, "invalid_parameters", err.Error()
	case errors.As(err, &pluginPath):
		return http.StatusBadRequest, "invalid_path", err.Error()
	case errors.As(err, &pluginExpired):
		return http.StatusForbidden, "url_expired", err.Error()
	case errors.Is(err, plugin.ErrBadSignature):
		return http.StatusForbidden, "invalid_signature", err.Error()
	case errors.Is(err, plugin.ErrStageNotRunning):
		return http.StatusForbidden, "stage_not_running", err.Error()
	case errors.Is(err, plugin.ErrMalformedURL):
		return http.StatusNotFound, "not_found", err.Error()
	case errors.As(err, &pluginMethod):
		return http.StatusMethodNotAllowed, "method_not_allowed", err.Error()
	case errors.As(err, &pluginTooLarge):
		return http.StatusRequestEntityTooLarge, "file_too_large", err.Error()
	case errors.As(err, &noDeployment):
		return http.StatusServiceUnavailable, "no_deployment", err.Error()
	case errors.As(err, &upstream) && upstream.Timeout:
		return http.StatusGatewayTimeout, "deployment_timeout", err.Error()
	case errors.As(err, &upstream):
		return http.StatusBadGateway, "deployment_unreachable", err.Error()
	case errors.As(err, &pluginInput):
		return http.StatusBadRequest, pluginInput.Code, err.Error()
	case errors.Is(err, job.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "record_too_large", err.Error()
	case errors.Is(err, kv.ErrInvalidKey):
		return http.StatusBadRequest, "invalid_key", err.Error()
	case errors.Is(err, kv.ErrContention):
		return http.StatusConflict, "conflict", err.Error()
	case errors.Is(err, kv.ErrNoSecretKey):
		return http.StatusServiceUnavailable, "secret_key_missing", err.Error()
	case errors.Is(err, kv.ErrWrongKey):
		return http.StatusInternalServerError, "secret_key_mismatch", err.Error()
	case errors.Is(err, pluginrun.ErrBadStage), errors.Is(err, pluginrun.ErrInvalidInput):
		return http.StatusBadRequest, "bad_request", err.Error()
	case errors.Is(err, jobrunner.ErrUnknownJob), errors.Is(err, store.ErrNotFound), errors.Is(err, pluginrun.ErrUnknownPlugin):
		return http.StatusNotFound, "not_found", err.Error()
	case errors.Is(err, context.Canceled):
		return 499, "canceled", "the client went away"
	default:
		return http.StatusInternalServerError, "internal", err.Error()
	}
}

// writeError answers with the error and logs it once: server faults at
// error level, client mistakes at debug.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := classify(err)
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	var body errorBody
	body.Error.Code, body.Error.Message = code, msg
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
