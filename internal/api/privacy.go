package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/weftdata/weft/internal/privacy"
	"github.com/weftdata/weft/internal/store"
)

// privacyRoutes serves the OpenDSR processor: its endpoints under the
// admin scope, the certificate to anyone (it is what controllers verify
// callbacks with), and the exports behind their signed URLs.
func (h *handler) privacyRoutes(root, v1 *routeMux) {
	if h.privacy == nil {
		return
	}
	v1.Route(scopeAdmin, "GET /v1/privacy/discovery", h.privacyDiscovery)
	v1.Route(scopeAdmin, "POST /v1/privacy/requests", h.privacyCreate)
	v1.Route(scopeAdmin, "GET /v1/privacy/requests/{id}", h.privacyGet)
	v1.Route(scopeAdmin, "DELETE /v1/privacy/requests/{id}", h.privacyCancel)
	root.Route(scopePublic, "GET "+privacy.CertificatePath, h.privacyCertificate)
	root.Route(scopeSigned, "GET "+privacy.ExportPathPrefix+"{id}/{file}/{exp}/{sig}", h.privacyExport)
}

// privacyErr maps the processor's errors to their answers.
func privacyErr(err error) error {
	var reqErr *privacy.RequestError
	var notPending *privacy.NotPendingError
	var expired *privacy.ExpiredError
	switch {
	case errors.As(err, &reqErr):
		return badRequest(reqErr.Error())
	case errors.Is(err, privacy.ErrDuplicate):
		return &Error{http.StatusBadRequest, "duplicate_request", "subject_request_id: " + err.Error() + ": a new request needs a new UUID"}
	case errors.As(err, &notPending):
		return &Error{http.StatusConflict, "conflict", err.Error()}
	case errors.Is(err, privacy.ErrBadSignature):
		return &Error{http.StatusForbidden, "invalid_signature", err.Error()}
	case errors.As(err, &expired):
		return &Error{http.StatusGone, "url_expired", err.Error()}
	case errors.Is(err, privacy.ErrNoExport):
		return &Error{http.StatusNotFound, "not_found", err.Error()}
	case errors.Is(err, privacy.ErrNoKeyStorage):
		return &Error{http.StatusServiceUnavailable, "no_signing_key", err.Error()}
	}
	return err
}

// writeSigned answers with a body signed as OpenDSR says: the signature of
// the bytes sent, in X-OpenDSR-Signature.
func (h *handler) writeSigned(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.privacy.SignHeaders(r.Context(), w.Header(), body); err != nil {
		h.writeError(w, r, privacyErr(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// privacyDiscovery is GET /v1/privacy/discovery.
func (h *handler) privacyDiscovery(w http.ResponseWriter, r *http.Request) {
	d, err := h.privacy.Discovery(r.Context())
	if err != nil {
		h.writeError(w, r, privacyErr(err))
		return
	}
	h.writeSigned(w, r, http.StatusOK, d)
}

// privacyCreate is POST /v1/privacy/requests.
func (h *handler) privacyCreate(w http.ResponseWriter, r *http.Request) {
	body, err := h.readBody(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	created, err := h.privacy.Create(r.Context(), body)
	if err != nil {
		h.writeError(w, r, privacyErr(err))
		return
	}
	h.writeSigned(w, r, http.StatusCreated, created)
}

// privacyGet is GET /v1/privacy/requests/{id}.
func (h *handler) privacyGet(w http.ResponseWriter, r *http.Request) {
	st, err := h.privacy.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, privacyRequestErr(err, r.PathValue("id")))
		return
	}
	h.writeSigned(w, r, http.StatusOK, st)
}

// privacyCancel is DELETE /v1/privacy/requests/{id}: 202 as the spec says.
func (h *handler) privacyCancel(w http.ResponseWriter, r *http.Request) {
	c, err := h.privacy.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, privacyRequestErr(err, r.PathValue("id")))
		return
	}
	h.writeSigned(w, r, http.StatusAccepted, c)
}

func privacyRequestErr(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{http.StatusNotFound, "not_found", "no privacy request " + truncateID(id)}
	}
	return privacyErr(err)
}

func truncateID(id string) string {
	if len(id) > 80 {
		return id[:80] + "..."
	}
	return id
}

// privacyCertificate serves the certificate discovery names.
func (h *handler) privacyCertificate(w http.ResponseWriter, r *http.Request) {
	pem, err := h.privacy.Certificate(r.Context())
	if err != nil {
		h.writeError(w, r, privacyErr(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pem)
}

// privacyExport serves a file of an export behind its signed URL.
func (h *handler) privacyExport(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	ct := privacy.ContentType(file)
	if ct == "" {
		h.writeError(w, r, &Error{http.StatusNotFound, "not_found", "an export has the files " + privacy.DocumentFile + " and " + privacy.EventsFile})
		return
	}
	rd, err := h.privacy.OpenExport(r.Context(), r.PathValue("id"), file, r.PathValue("exp"), r.PathValue("sig"))
	if err != nil {
		h.writeError(w, r, privacyErr(err))
		return
	}
	defer rd.Close()
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.Copy(w, rd)
}
