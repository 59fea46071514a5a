package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// pluginPredict is POST /v1/plugins/{name}/predict: the JSON body goes by
// POST to the plugin's deployed server (its requestPath), and its status,
// body and content type come back.
func (h *handler) pluginPredict(w http.ResponseWriter, r *http.Request) {
	h.predict(w, r, "")
}

// deploymentPredict is POST /api/plugins/{name}/deployments/{id}/predict
// (spec §10): the same, for the deployment of run id.
func (h *handler) deploymentPredict(w http.ResponseWriter, r *http.Request) {
	h.predict(w, r, r.PathValue("id"))
}

func (h *handler) predict(w http.ResponseWriter, r *http.Request, run string) {
	if _, ok := h.pluginDeclared(w, r); !ok {
		return
	}
	limit := h.deployer.MaxRequestBytes()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		h.writeError(w, r, &Error{http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("a prediction request's body is at most %d bytes", limit)})
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		h.writeError(w, r, &Error{http.StatusBadRequest, "invalid_body", "the prediction request's body must be JSON (it goes unchanged to the plugin's requestPath)"})
		return
	}
	resp, err := h.deployer.Predict(r.Context(), r.PathValue("name"), run, body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		h.log.Warn("prediction answer cut short", "plugin", r.PathValue("name"), "error", err)
	}
}
