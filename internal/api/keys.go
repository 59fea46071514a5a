package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/keys"
)

// keyRoutes registers the key store's routes.
func (h *handler) keyRoutes(v1 *routeMux) {
	v1.Route(scopeAdmin, "POST /v1/keys", h.keysCreate)
	v1.Route(scopeAdmin, "GET /v1/keys", h.keysList)
	v1.Route(scopeAdmin, "DELETE /v1/keys/{id}", h.keysRevoke)
}

// createdKey is the answer to POST /v1/keys: the only time the key is
// shown.
type createdKey struct {
	*keys.Key
	Secret string `json:"key"`
}

// keysCreate is POST /v1/keys {"name", "scopes", "sources"?}: 201 with the
// key, once.
func (h *handler) keysCreate(w http.ResponseWriter, r *http.Request) {
	var p keys.CreateParams
	if err := h.decodeStrict(w, r, &p); err != nil {
		h.writeError(w, r, err)
		return
	}
	k, secret, err := h.keyring.Create(r.Context(), p)
	if err != nil {
		h.writeError(w, r, keyError(err))
		return
	}
	audit.Summarize(r.Context(), "created key %q (id %s, prefix %s, scopes %s%s)", k.Name, k.ID, k.Prefix, strings.Join(k.Scopes, ","), sourcesNote(k))
	writeJSON(w, http.StatusCreated, createdKey{k, secret})
}

func sourcesNote(k *keys.Key) string {
	note := ""
	if len(k.Sources) > 0 {
		note = "; sources " + strings.Join(k.Sources, ",")
	}
	if len(k.AllowedOrigins) > 0 {
		note += "; allowed origins " + strings.Join(k.AllowedOrigins, ",")
	}
	return note
}

// keysList is GET /v1/keys: the live keys, never the keys themselves.
func (h *handler) keysList(w http.ResponseWriter, r *http.Request) {
	list, err := h.keyring.List(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]keys.Key{"keys": list})
}

// keysRevoke is DELETE /v1/keys/{id}: the key is refused from now on.
func (h *handler) keysRevoke(w http.ResponseWriter, r *http.Request) {
	k, err := h.keyring.Revoke(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	audit.Summarize(r.Context(), "revoked key %q (id %s, prefix %s)", k.Name, k.ID, k.Prefix)
	writeJSON(w, http.StatusOK, k)
}

// keyError gives the errors of package keys their status.
func keyError(err error) error {
	switch {
	case errors.Is(err, keys.ErrInvalid):
		return &Error{http.StatusBadRequest, "invalid_parameters", err.Error()}
	case errors.Is(err, keys.ErrNameTaken):
		return &Error{http.StatusConflict, "name_taken", err.Error()}
	}
	return err
}

// decodeStrict reads a JSON object body into v, refusing an empty body,
// fields v does not know and anything after the object.
func (h *handler) decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := h.requestBody(w, r)
	if err != nil {
		return err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &Error{http.StatusBadRequest, "invalid_body", "body is empty: send a JSON object"}
	}
	// A lone UTF-16 surrogate would become U+FFFD, text the client never
	// sent (a key's name, an identifier to split off): refused, as \u0000.
	if err := event.StorableJSON(data); err != nil {
		return &Error{http.StatusBadRequest, "invalid_body", "body " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{http.StatusBadRequest, "invalid_body", "body must be a JSON object: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{http.StatusBadRequest, "invalid_body", "body must be one JSON object, with nothing after it"}
	}
	return nil
}
