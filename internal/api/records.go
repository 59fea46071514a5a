package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/job"
)

// recordStore serves one of the operators' stores, settings or secrets:
// GET (list), GET/PUT/PATCH/DELETE of a key. Secrets never show values:
// reads answer keys and field names only.
type recordStore struct {
	h        *handler
	store    *kv.Store
	name     string // "settings" or "secrets"
	readable bool   // values may be read back
}

// recordInfo is the answer to writes and secret reads.
type recordInfo struct {
	Key    string   `json:"key"`
	Fields []string `json:"fields"`
}

// removedInfo is the answer to DELETE: the fields that were removed.
type removedInfo struct {
	Key     string   `json:"key"`
	Removed []string `json:"removed"`
}

func (rs *recordStore) routes(mux *routeMux) {
	base := "/v1/" + rs.name
	mux.Route(scopeAdmin, "GET "+base, rs.list)
	mux.Route(scopeAdmin, "GET "+base+"/{key}", rs.get)
	mux.Route(scopeAdmin, "PUT "+base+"/{key}", rs.put)
	mux.Route(scopeAdmin, "PATCH "+base+"/{key}", rs.patch)
	mux.Route(scopeAdmin, "DELETE "+base+"/{key}", rs.delete)
}

// list is GET /v1/{store}: keys with their field names, never values.
func (rs *recordStore) list(w http.ResponseWriter, r *http.Request) {
	keys, err := rs.store.Keys(r.Context())
	if err != nil {
		rs.h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]kv.KeyInfo{rs.name: keys})
}

// get is GET /v1/{store}/{key}: the record ({} when missing), or for
// secrets its field names; ?field= (repeated) selects fields.
func (rs *recordStore) get(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	rec, err := rs.store.Get(r.Context(), key, r.URL.Query()["field"]...)
	if err != nil {
		rs.h.writeError(w, r, err)
		return
	}
	if !rs.readable {
		writeJSON(w, http.StatusOK, recordInfo{key, kv.FieldNames(rec)})
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// put is PUT /v1/{store}/{key} with a JSON object: it replaces the record
// ({} deletes it).
func (rs *recordStore) put(w http.ResponseWriter, r *http.Request) {
	rs.write(w, r, func(body job.Record) func(job.Record) (job.Record, error) {
		return func(job.Record) (job.Record, error) { return body, nil }
	})
}

// patch is PATCH /v1/{store}/{key} with a JSON merge patch: fields set to
// null are removed, the others set, fields not named kept.
func (rs *recordStore) patch(w http.ResponseWriter, r *http.Request) {
	rs.write(w, r, func(body job.Record) func(job.Record) (job.Record, error) {
		return func(cur job.Record) (job.Record, error) {
			for f, v := range body {
				if v == nil {
					delete(cur, f)
				} else {
					cur[f] = v
				}
			}
			return cur, nil
		}
	})
}

func (rs *recordStore) write(w http.ResponseWriter, r *http.Request, update func(body job.Record) func(job.Record) (job.Record, error)) {
	body, err := rs.h.recordBody(w, r)
	if err != nil {
		rs.h.writeError(w, r, err)
		return
	}
	key := r.PathValue("key")
	var next job.Record
	fn := update(body)
	_, err = rs.store.Patch(r.Context(), key, func(cur job.Record) (job.Record, error) {
		next, err = fn(cur)
		return next, err
	})
	if err != nil {
		rs.h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, recordInfo{key, kv.FieldNames(next)})
}

// delete is DELETE /v1/{store}/{key}, of the record or, with ?field=
// (repeated), of those fields.
func (rs *recordStore) delete(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	removed, err := rs.store.Delete(r.Context(), key, r.URL.Query()["field"]...)
	if err != nil {
		rs.h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, removedInfo{key, kv.FieldNames(removed)})
}

// recordBody reads a JSON object body.
func (h *handler) recordBody(w http.ResponseWriter, r *http.Request) (job.Record, error) {
	body, err := h.requestBody(w, r)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	var rec job.Record
	if err := json.Unmarshal(data, &rec); err != nil || rec == nil {
		msg := "body must be a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, &Error{http.StatusBadRequest, "invalid_body", msg}
	}
	return rec, nil
}

// recordError maps the errors of package kv (settings, secrets and the
// job kv store).
func recordError(err error) (int, string, bool) {
	switch {
	case errors.Is(err, job.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "record_too_large", true
	case errors.Is(err, kv.ErrInvalidKey):
		return http.StatusBadRequest, "invalid_key", true
	case errors.Is(err, kv.ErrContention):
		return http.StatusConflict, "conflict", true
	case errors.Is(err, kv.ErrNoSecretKey):
		return http.StatusServiceUnavailable, "secret_key_missing", true
	case errors.Is(err, kv.ErrWrongKey):
		return http.StatusInternalServerError, "secret_key_mismatch", true
	}
	return 0, "", false
}
