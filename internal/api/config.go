package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/weftdata/weft/internal/event"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/pipeline"
)

// configPut is PUT /v1/config with a weft.yaml document, YAML or JSON.
func (h *handler) configPut(w http.ResponseWriter, r *http.Request) {
	body, err := h.requestBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ao, err := applyOptions(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	applied, err := h.apply(r, data, ao)
	var cfgErr *config.Error
	if errors.As(err, &cfgErr) {
		h.writeError(w, r, &Error{http.StatusBadRequest, "invalid_config", "config rejected, nothing changed: " + cfgErr.Error()})
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	audit.Summarize(r.Context(), "applied config version %d%s", applied.Version, forwardNote(applied)) // the console reads the version back (console.appliedBy)
	writeJSON(w, http.StatusOK, applied)
}

// apply puts a document in force. One read back from GET /v1/config has
// its keys and secrets masked: those keep the values in force.
func (h *handler) apply(r *http.Request, data []byte, ao pipeline.ApplyOptions) (*pipeline.Applied, error) {
	data, err := h.pipeline.Unmask(r.Context(), data)
	if err != nil {
		return nil, err
	}
	return h.pipeline.ApplyWith(r.Context(), data, ao)
}

// configGet is GET /v1/config: the configuration in force, as JSON, or as
// the document was sent when the client accepts YAML. Weft-Config-Version
// says which version it is (0: none applied yet).
func (h *handler) configGet(w http.ResponseWriter, r *http.Request) {
	stored, cfg, err := h.pipeline.Config(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Weft-Config-Version", strconv.FormatInt(stored.Version, 10))
	if stored.Version > 0 {
		w.Header().Set("Last-Modified", stored.AppliedAt.Format(http.TimeFormat))
	}
	// Keys and secrets are masked (config.Mask); a PUT of the masked
	// document keeps them.
	if acceptsYAML(r) && stored.Version > 0 {
		doc, err := config.MaskDocument([]byte(stored.Body))
		if err != nil {
			h.writeError(w, r, fmt.Errorf("mask the config in force: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(doc)
		return
	}
	doc, err := config.MaskJSON(cfg.JSON())
	if err != nil {
		h.writeError(w, r, fmt.Errorf("mask the config in force: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(doc))
}

func acceptsYAML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && strings.Contains(mt, "yaml") {
			return true
		}
	}
	return r.URL.Query().Get("format") == "yaml"
}

// stitchingRun is POST /v1/stitching/run with {"from_scratch": bool}; an
// empty body means an incremental run.
func (h *handler) stitchingRun(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FromScratch bool `json:"from_scratch"`
	}
	if err := h.decodeOptional(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.runAndAnswer(w, r, pipeline.StitchingJob, map[string]any{"from_scratch": req.FromScratch})
}

// decodeOptional reads a small JSON object body that may be empty,
// refusing fields it does not know.
func (h *handler) decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := h.requestBody(w, r)
	if err != nil {
		return err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	// encoding/json would turn a lone UTF-16 surrogate into U+FFFD and
	// store text the client never sent: refuse it, and \u0000, as event
	// payloads are refused.
	if err := event.StorableJSON(data); err != nil {
		return badRequest("body " + err.Error())
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body must be a JSON object: " + err.Error())
	}
	return nil
}
