package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/keys"
)

// auditRoutes registers the audit trail's route.
func (h *handler) auditRoutes(v1 *routeMux) {
	v1.Route(scopeAdmin, "GET /v1/audit", h.auditList)
}

// audited reports whether calls of the route go on the audit trail: the
// routes of the jobs and admin scopes that are not reads.
func audited(rt route) bool {
	return (rt.scope == scopeJobs || rt.scope == scopeAdmin) && rt.method != http.MethodGet && rt.method != http.MethodHead
}

// auditActions name the actions of the routes whose derived name (see
// auditAction) would say less.
var auditActions = map[string]string{
	"PUT /v1/config":                    "config.apply",
	"POST /v1/event-types":              "event_types.register",
	"POST /v1/stitching/run":            "stitching.run",
	"POST /v1/attributes/run":           "attributes.run",
	"POST /v1/jobs/{job}/runs":          "jobs.trigger",
	"POST /v1/jobs/runs/{id}/terminate": "jobs.terminate",
	"POST /v1/plugins/{name}/runs":      "plugins.run",
	"POST /v1/plugins/{name}/manifest":  "plugins.manifest",
	"POST /v1/keys":                     "keys.create",
	"DELETE /v1/keys/{id}":              "keys.revoke",

	// Identity repaired by hand (repair.go).
	"POST /v1/entities/{id}/split":         "entities.split",
	"POST /v1/entities/merge":              "entities.merge",
	"POST /v1/identifiers/block":           "identifiers.block",
	"DELETE /v1/identity/constraints/{id}": "identity.constraints.remove",

	// Meiro's force operations (attributes_refresh.go).
	"POST /v1/attributes/refresh-context": "attributes.refresh_context",
	"POST /v1/attributes/refresh-caches":  "attributes.refresh_caches",
}

// auditVerbs are the verbs of derived action names.
var auditVerbs = map[string]string{http.MethodPost: "create", http.MethodPut: "put", http.MethodPatch: "patch", http.MethodDelete: "delete"}

// auditAction names the action of a route: from auditActions, else the
// path's fixed segments after /v1 and a verb for the method, as in
// "secrets.put" or "privacy.requests.create".
func auditAction(rt route) string {
	if a, ok := auditActions[rt.String()]; ok {
		return a
	}
	var parts []string
	for _, seg := range strings.Split(strings.TrimPrefix(rt.path, "/v1/"), "/") {
		if seg != "" && !strings.HasPrefix(seg, "{") {
			parts = append(parts, strings.ReplaceAll(seg, "-", "_"))
		}
	}
	verb, ok := auditVerbs[rt.method]
	if !ok {
		verb = strings.ToLower(rt.method)
	}
	return strings.Join(append(parts, verb), ".")
}

// auditRecorder keeps what the audit entry needs of an answer: its status
// and, for an error, the start of its body.
type auditRecorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

// maxAuditBody is how much of an error answer is kept to read its message.
const maxAuditBody = 4 << 10

func (a *auditRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *auditRecorder) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.status >= 400 && len(a.body) < maxAuditBody {
		a.body = append(a.body, p[:min(len(p), maxAuditBody-len(a.body))]...)
	}
	return a.ResponseWriter.Write(p)
}

func (a *auditRecorder) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// auditStart prepares the audit entry of a request to an audited route:
// it returns the writer and request the handler must use, and the
// function that records the entry once the handler is done.
func (h *handler) auditStart(w http.ResponseWriter, r *http.Request, rt route, k *keys.Key) (http.ResponseWriter, *http.Request, func()) {
	rec := &auditRecorder{ResponseWriter: w}
	ctx, summary := audit.WithSummary(r.Context())
	r = r.WithContext(ctx)
	return rec, r, func() {
		if h.audit == nil {
			return
		}
		e := &audit.Entry{RequestID: requestID(ctx), Action: auditAction(rt), Method: rt.method, Route: rt.path, Path: r.URL.Path, Status: rec.status, Summary: summary()}
		if e.Status == 0 {
			e.Status = http.StatusOK
		}
		if k != nil {
			e.KeyID, e.KeyName = k.ID, k.Name
		}
		if e.Summary == "" {
			e.Summary = defaultSummary(rt, r, rec)
		}
		// The change is made: a client gone away must not lose its entry.
		if err := h.audit.Record(context.WithoutCancel(ctx), e); err != nil {
			h.log.Error("audit entry not recorded", "request_id", e.RequestID, "action", e.Action, "key", e.KeyName, "status", e.Status, "error", err)
		}
	}
}

// defaultSummary is an entry's summary when the handler wrote none: the
// error's message for a failure, else the path's parameters.
func defaultSummary(rt route, r *http.Request, rec *auditRecorder) string {
	if rec.status >= 400 {
		var body errorBody
		if json.Unmarshal(rec.body, &body) == nil && body.Error.Message != "" {
			return body.Error.Message
		}
		return http.StatusText(rec.status)
	}
	var params []string
	for _, seg := range strings.Split(rt.path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
			params = append(params, name+"="+r.PathValue(name))
		}
	}
	return strings.Join(params, " ")
}

// auditList is GET /v1/audit?since=&action=&limit=: entries, newest first.
func (h *handler) auditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := audit.ListParams{Action: q.Get("action")}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			h.writeError(w, r, badRequest("since must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got "+cut(s, 100)))
			return
		}
		p.Since = t
	}
	limit, err := intParam(q.Get("limit"), audit.ListLimitDefault, 1, audit.ListLimitMax, "limit")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p.Limit = int(limit)
	if h.audit == nil {
		h.writeError(w, r, &Error{http.StatusNotFound, "not_found", "this server keeps no audit trail"})
		return
	}
	entries, err := h.audit.List(r.Context(), p)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]audit.Entry{"entries": entries})
}
