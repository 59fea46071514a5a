package api

import (
	"errors"
	"net/http"
	"slices"

	"github.com/weftdata/weft/internal/keys"
)

// sdkSettingsRoutes registers what analytics.js 2.0 (@segment/analytics-next)
// fetches from its cdnURL before it sends anything.
func (h *handler) sdkSettingsRoutes(v1 *routeMux) {
	// Public: the write key in the path is the credential, and it is no
	// secret (every page that loads the SDK shows it).
	v1.Route(scopePublic, "GET /v1/projects/{writeKey}/settings", h.sdkSettings)
}

// sdkSettings is the settings document of a write key, as Segment's CDN
// serves it at /v1/projects/{writeKey}/settings: the one destination
// "Segment.io" pointed at this server, nothing else to load. A key that is
// no write key (unknown, revoked, without the ingest scope, or not limited
// to exactly one source) is a 404 that says no more.
func (h *handler) sdkSettings(w http.ResponseWriter, r *http.Request) {
	// Any page may read it; the origins a key allows are checked where
	// events are written, not here.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeKey := r.PathValue("writeKey")
	ok, err := h.isWriteKey(r, writeKey)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !ok {
		h.writeError(w, r, &Error{http.StatusNotFound, "not_found", "no write key with this value: create one with POST /v1/keys {\"name\", \"scopes\": [\"ingest\"], \"sources\": [\"<source>\"]}"})
		return
	}
	// The browser fetched this from the host it will send its events to;
	// behind a proxy that ends TLS, X-Forwarded-Proto says https.
	protocol := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		protocol = "https"
	}
	// Private: the document follows the request's Host and protocol, which
	// a shared cache must not hand to another client.
	w.Header().Set("Cache-Control", "private, max-age=60")
	writeJSON(w, http.StatusOK, sdkSettingsDoc(writeKey, r.Host+"/v1", protocol))
}

// isWriteKey reports whether the tracking calls take the key (see
// writeKey): a live key with the ingest scope limited to one source, no
// admin key; with no key configured at all (the open API), a value that
// names a source.
func (h *handler) isWriteKey(r *http.Request, writeKey string) (bool, error) {
	k, err := h.keyring.Check(r.Context(), writeKey)
	if err != nil {
		return false, err
	}
	if k == nil {
		_, _, err := h.openWriteKey(r, writeKey)
		var refused *Error
		if errors.As(err, &refused) {
			return false, nil
		}
		return err == nil, err
	}
	return k.Allows(keys.ScopeIngest) && len(k.Sources) == 1 && !slices.Contains(k.Scopes, keys.ScopeAdmin), nil
}

// sdkSettingsDoc is the settings document: the fields analytics-next
// reads (packages/browser: integrations["Segment.io"] with apiKey,
// apiHost and protocol; plan; metrics; the plugin lists it would load
// code for), each set so that it loads nothing and reports to no one but
// apiHost. metrics.sampleRate 0 turns off its own telemetry, which
// would otherwise go to api.segment.io.
func sdkSettingsDoc(writeKey, apiHost, protocol string) map[string]any {
	empty := map[string]any{}
	enabled := map[string]any{"__default": map[string]any{"enabled": true, "integrations": empty}}
	return map[string]any{
		"integrations": map[string]any{
			"Segment.io": map[string]any{
				"apiKey":                writeKey,
				"apiHost":               apiHost,
				"protocol":              protocol,
				"unbundledIntegrations": []string{},
				"addBundledMetadata":    false,
				"maybeBundledConfigIds": empty,
			},
		},
		"plan":                      map[string]any{"track": enabled, "identify": enabled, "group": enabled},
		"edgeFunction":              empty,
		"analyticsNextEnabled":      true,
		"middlewareSettings":        empty,
		"enabledMiddleware":         empty,
		"metrics":                   map[string]any{"sampleRate": 0},
		"legacyVideoPluginsEnabled": false,
		"remotePlugins":             []string{},
	}
}
