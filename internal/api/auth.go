package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/store"
)

// APIKeyHeader carries the API key of a request.
const APIKeyHeader = "x-api-key"

// The keys that are not stored, as handlers and the audit trail see them.
var (
	// openKey is every request's when no key is configured at all.
	openKey = &keys.Key{Name: keys.NameOpen, Scopes: []string{keys.ScopeAdmin}, Sources: []string{}}
	// deliveryConfigKey is a key of delivery.api_keys (weft.yaml).
	deliveryConfigKey = &keys.Key{Name: keys.NameDeliveryKey, Scopes: []string{keys.ScopeDelivery}, Sources: []string{}}
)

// deliveryConfigRoutes take the keys of delivery.api_keys, which, when
// set, win over the bootstrap keys there (stored keys with the delivery
// scope are taken too).
var deliveryConfigRoutes = map[string]bool{"POST /deliver": true, "POST /log": true}

// sourceCheckedRoutes check the sources of a source-limited ingest key
// themselves, record by record. Every other ingest route refuses such a
// key: objects, for one, belong to no source.
var sourceCheckedRoutes = map[string]bool{"POST /v1/events": true}

func (rt route) String() string { return rt.method + " " + rt.path }

// guard wraps a route's handler with the key check of its scope and, for
// the routes that change things, the audit trail. The handler finds the
// key in its request's context (keys.FromContext).
func (h *handler) guard(rt route, next http.Handler) http.Handler {
	if rt.scope == scopePublic || rt.scope == scopeSigned || writeKeyRoutes[rt.String()] {
		return next
	}
	record := audited(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := h.authorize(r, rt)
		if record {
			var finish func()
			w, r, finish = h.auditStart(w, r, rt, k)
			defer finish()
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(keys.WithKey(r.Context(), k)))
	})
}

// requireAnyKey guards what is no route (the /v1/ catch-all): any valid
// key, so that a client without one learns nothing but 401.
func (h *handler) requireAnyKey(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.authorize(r, route{scope: scopeAny}); err != nil {
			h.writeError(w, r, err)
			return
		}
		next(w, r)
	}
}

// scopeAny is what requireAnyKey asks: a valid key, whatever its scopes.
const scopeAny scope = ""

// authorize returns the key of the request if it may call the route: a
// 401 without a valid key (when keys are configured), a 403 when the key
// lacks the route's scope.
func (h *handler) authorize(r *http.Request, rt route) (*keys.Key, error) {
	k, err := h.authenticate(r, rt)
	if err != nil || rt.scope == scopeAny {
		return k, err
	}
	return k, permit(k, rt)
}

// authenticate returns the key the request presents, the open key when no
// key is configured at all, else a 401.
func (h *handler) authenticate(r *http.Request, rt route) (*keys.Key, error) {
	var configKeys []string
	if deliveryConfigRoutes[rt.String()] && h.delivery != nil {
		configKeys = h.delivery.APIKeys()
	}
	presented := r.Header.Get(APIKeyHeader)
	if presented != "" {
		k, err := h.checkKey(r, presented, configKeys)
		if k != nil || err != nil {
			return k, err
		}
	}
	configured, err := h.keyring.Configured(r.Context())
	switch {
	case err != nil:
		return nil, err
	case !configured && len(configKeys) == 0:
		return openKey, nil
	case presented == "":
		return nil, &Error{http.StatusUnauthorized, "unauthorized", "missing " + APIKeyHeader + " header"}
	}
	return nil, &Error{http.StatusUnauthorized, "unauthorized", "invalid " + APIKeyHeader}
}

// permit refuses a key without the route's scope, and a source-limited
// ingest key on an ingest route that cannot check sources.
func permit(k *keys.Key, rt route) error {
	if !k.Allows(string(rt.scope)) {
		return &Error{http.StatusForbidden, "forbidden",
			fmt.Sprintf("key %q lacks scope %q, which %s needs (its scopes: %s)", k.Name, rt.scope, rt, strings.Join(k.Scopes, ", "))}
	}
	if rt.scope == scopeIngest && len(k.Sources) > 0 && !k.Allows(keys.ScopeAdmin) && !sourceCheckedRoutes[rt.String()] {
		return &Error{http.StatusForbidden, "forbidden",
			fmt.Sprintf("key %q may ingest events of sources %s only, through POST /v1/events; %s needs an ingest key without sources", k.Name, strings.Join(k.Sources, ", "), rt)}
	}
	return nil
}

// checkKey finds the presented key: one of configKeys (delivery.api_keys
// on their routes, where they win over the bootstrap keys), else a stored
// or bootstrap key; nil when none.
func (h *handler) checkKey(r *http.Request, presented string, configKeys []string) (*keys.Key, error) {
	if len(configKeys) > 0 && keys.MatchAny(presented, configKeys) {
		return deliveryConfigKey, nil
	}
	k, err := h.keyring.Check(r.Context(), presented)
	if k != nil && len(configKeys) > 0 && k.ID == "" && k.Name == keys.NameBootstrap {
		return nil, err
	}
	return k, err
}

// keepAllowedSources rejects, record by record, the events of sources the
// request's key may not ingest; the other records go on.
func keepAllowedSources(r *http.Request, b *event.Batch) {
	k := keys.FromContext(r.Context())
	if k == nil || len(k.Sources) == 0 || k.Allows(keys.ScopeAdmin) {
		return
	}
	events, index := b.Events[:0], b.Index[:0]
	for i, e := range b.Events {
		if k.AllowsSource(e.SourceID) {
			events, index = append(events, e), append(index, b.Index[i])
			continue
		}
		b.Rejected = append(b.Rejected, &event.RecordError{Index: b.Index[i], Field: "source_id",
			Reason: fmt.Sprintf("key %q may not ingest events of source %q (its sources: %s)", k.Name, cut(e.SourceID, 100), strings.Join(k.Sources, ", "))})
	}
	b.Events, b.Index = events, index
}

// cut shortens a value echoed in a message.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

// defaultKeysAndAudit fills in the key store and the audit trail of the
// store when the configuration sets none.
func (h *handler) defaultKeysAndAudit(cfg Config) {
	db, _ := cfg.Store.(store.Executor)
	if h.keyring == nil {
		h.keyring = keys.New(db, &keys.Options{Bootstrap: cfg.APIKeys, Logger: h.log})
	}
	if h.audit == nil && db != nil {
		h.audit = audit.New(db, nil)
	}
}

// NewHandlerWithMetrics returns the HTTP API without GET /metrics, and
// the metrics handler, to serve on a listener of its own (weft serve
// --metrics-addr): there it needs no key.
func NewHandlerWithMetrics(cfg Config) (api, metrics http.Handler) {
	cfg.metrics = newMetrics()
	api, _ = newHandler(cfg)
	return api, cfg.metrics.handler()
}
