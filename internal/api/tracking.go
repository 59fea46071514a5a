package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/event"
	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/tracking"
)

// writeKeyRoutes authenticate in their handler, not in guard: the
// Segment SDKs send the write key as HTTP Basic user name or in the body
// (analytics.js, with Content-Type text/plain to spare a preflight).
var writeKeyRoutes = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range tracking.Paths {
		m[http.MethodPost+" "+p.Path] = true
	}
	return m
}()

// trackingRoutes registers the Segment HTTP Tracking API: each call and
// its CORS preflight.
func (h *handler) trackingRoutes(v1 *routeMux) {
	group := newAppendGroup(h.ingester, h.ingested)
	for _, p := range tracking.Paths {
		v1.Route(scopeIngest, http.MethodPost+" "+p.Path, h.trackingCall(p.Kind, group))
		v1.Route(scopePublic, http.MethodOptions+" "+p.Path, h.trackingPreflight)
	}
}

// trackingSuccess is the answer the SDKs expect.
var trackingSuccess = map[string]bool{"success": true}

// trackingCall serves a call of the kind, or a batch when kind is empty.
func (h *handler) trackingCall(kind tracking.Kind, group *appendGroup) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if !h.ingestSlot(w, r) {
			return
		}
		// The slot bounds the bodies decoded at once; the mapped batch then
		// waits for its append in the group, which bounds the calls waiting.
		total, batch, err := func() (int, *event.Batch, error) {
			defer h.ingestDone()
			body, source, err := h.trackingRead(w, r, kind)
			if err != nil {
				return 0, nil, err
			}
			return body.Len(), body.Map(source, time.Now()), nil
		}()
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.trackingIngest(w, r, total, batch, group)
	}
}

// trackingRead reads and authenticates a call: its body, and the source
// of its write key.
func (h *handler) trackingRead(w http.ResponseWriter, r *http.Request, kind tracking.Kind) (*tracking.Body, string, error) {
	data, err := h.trackingBody(w, r)
	if err != nil {
		return nil, "", err
	}
	body, parseErr := tracking.Parse(data, kind)
	bodyKey := ""
	if parseErr == nil {
		bodyKey = body.WriteKey
	}
	k, source, err := h.writeKey(r, bodyKey)
	if err == nil {
		err = allowOrigin(w, r, k)
	}
	if err == nil {
		err = trackingError(parseErr)
	}
	return body, source, err
}

// trackingIngest appends the body's messages: 200 {"success": true} when
// all are stored, else 400 naming each message refused, the others kept.
func (h *handler) trackingIngest(w http.ResponseWriter, r *http.Request, total int, batch *event.Batch, group *appendGroup) {
	rejected := batch.Rejected
	h.metrics.rejected.Add(float64(len(rejected)))
	if len(batch.Events) > 0 {
		more, err := group.ingest(r.Context(), batch)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		rejected = append(rejected, more...)
	}
	if len(rejected) == 0 {
		writeJSON(w, http.StatusOK, trackingSuccess)
		return
	}
	sort.Slice(rejected, func(i, j int) bool { return rejected[i].Index < rejected[j].Index })
	writeJSON(w, http.StatusBadRequest, rejectedMessages(r, total, rejected))
}

// trackingRejection is the 400 of a call with refused messages: the
// error shape of every answer, with what was kept.
type trackingRejection struct {
	Success bool `json:"success"`
	errorBody
	// Stored counts the messages not refused: stored now, or before (a
	// retry), or dropped as an erased person's.
	Stored   int                  `json:"stored"`
	Rejected []*event.RecordError `json:"rejected"`
}

func rejectedMessages(r *http.Request, total int, rejected []*event.RecordError) trackingRejection {
	out := trackingRejection{Stored: total - len(rejected), Rejected: rejected}
	first := rejected[0]
	msg := fmt.Sprintf("message %d: %s", first.Index, first.Error())
	if more := len(rejected) - 1; more > 0 {
		msg += fmt.Sprintf(" (and %d more messages refused)", more)
	}
	msg += fmt.Sprintf("; the other %d of %d messages were stored", total-len(rejected), total)
	out.Error.Code, out.Error.Message, out.Error.RequestID = "invalid_message", clip.Max(msg, clip.MessageMax), requestID(r.Context())
	return out
}

// trackingBody reads the body, at most tracking.BatchMax bytes before
// and after gzip decoding, in the formats the SDKs send.
func (h *handler) trackingBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, badRequest("bad Content-Type " + clip.Quote(ct) + ": " + err.Error())
		}
		if mt != "application/json" && mt != "text/plain" {
			return nil, &Error{http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Sprintf("Content-Type %s is not supported: send application/json or text/plain (analytics.js)", clip.Quote(mt))}
		}
	}
	body, err := h.requestBodyMax(w, r, tracking.BatchMax)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &Error{http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the body is over the limit of a batch, %d bytes (500 KB, counted after gzip decoding): send fewer messages at once", tracking.BatchMax)}
	}
	return data, err
}

// trackingError gives the errors of tracking.Parse their status.
func trackingError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tracking.ErrTooLarge):
		return &Error{http.StatusRequestEntityTooLarge, "body_too_large", err.Error()}
	case errors.Is(err, tracking.ErrMalformed):
		return &Error{http.StatusBadRequest, "invalid_body", err.Error()}
	}
	return err
}

// writeKeyHelp says how to make a write key.
const writeKeyHelp = `create one with POST /v1/keys {"name": "site", "scopes": ["ingest"], "sources": ["site"]} (weft keys create site --scope ingest --source site)`

// writeKey authenticates a tracking call: the key is the HTTP Basic user
// name, else the X-API-Key header, else the body's writeKey. It must be
// a stored key with scope ingest limited to one source, whose events the
// call writes. With no key configured at all (the open API), the write
// key names the source.
func (h *handler) writeKey(r *http.Request, bodyKey string) (*keys.Key, string, error) {
	presented, _, ok := r.BasicAuth()
	if !ok || presented == "" {
		presented = r.Header.Get(APIKeyHeader)
	}
	if presented == "" {
		presented = bodyKey
	}
	var k *keys.Key
	var err error
	if presented != "" {
		if k, err = h.keyring.Check(r.Context(), presented); err != nil {
			return nil, "", err
		}
	}
	if k == nil {
		return h.openWriteKey(r, presented)
	}
	if !k.Allows(keys.ScopeIngest) {
		return nil, "", &Error{http.StatusForbidden, "forbidden",
			fmt.Sprintf("key %q lacks scope %q, which %s %s needs (its scopes: %s); %s", k.Name, scopeIngest, r.Method, r.URL.Path, strings.Join(k.Scopes, ", "), writeKeyHelp)}
	}
	if len(k.Sources) != 1 || slices.Contains(k.Scopes, keys.ScopeAdmin) {
		has := "no sources, so its events would belong to none"
		if len(k.Sources) > 1 {
			has = fmt.Sprintf("%d sources (%s), so which one its events belong to is unclear", len(k.Sources), strings.Join(k.Sources, ", "))
		}
		return nil, "", &Error{http.StatusForbidden, "forbidden",
			fmt.Sprintf("key %q is no write key: a write key has scope %q limited to exactly one source, and this one has %s; %s", k.Name, scopeIngest, has, writeKeyHelp)}
	}
	return k, k.Sources[0], nil
}

// openWriteKey answers a write key that is no key: in the open API (no
// key configured) it names the source; else it is refused.
func (h *handler) openWriteKey(r *http.Request, presented string) (*keys.Key, string, error) {
	configured, err := h.keyring.Configured(r.Context())
	switch {
	case err != nil:
		return nil, "", err
	case configured && presented == "":
		return nil, "", &Error{http.StatusUnauthorized, "unauthorized", "missing write key: send it as the HTTP Basic user name (password empty) or as writeKey in the body; " + writeKeyHelp}
	case configured:
		return nil, "", &Error{http.StatusUnauthorized, "unauthorized", "invalid write key: no live key matches it; " + writeKeyHelp}
	case presented == "":
		return nil, "", &Error{http.StatusUnauthorized, "unauthorized", "missing write key: with no API key configured, the write key (HTTP Basic user name or writeKey in the body) names the source of the events, such as site"}
	}
	asSource := store.EventTypeKey{SourceID: presented, Type: string(tracking.Identify), Version: tracking.Version}
	if rerr := event.ValidateEventType(asSource); rerr != nil {
		return nil, "", &Error{http.StatusUnauthorized, "unauthorized",
			fmt.Sprintf("with no API key configured, the write key names the source of the events, and %s is no source id: %s", clip.Quote(presented), rerr.Reason)}
	}
	return openKey, presented, nil
}

// allowOrigin lets a browser read the answer when the key allows the
// request's origin, and refuses the request when it does not. Requests
// without an Origin (servers) pass; the open API allows every origin.
func allowOrigin(w http.ResponseWriter, r *http.Request, k *keys.Key) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if k != openKey && !k.AllowsOrigin(origin) {
		return &Error{http.StatusForbidden, "origin_not_allowed",
			fmt.Sprintf("origin %s may not use key %q: add it to the key's allowed_origins (POST /v1/keys {..., \"allowed_origins\": [%q]}, weft keys create --allowed-origin)", clip.Quote(origin), k.Name, clip.String(origin))}
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return nil
}

// trackingPreflight answers a browser's CORS preflight. It carries no
// key, so it allows any origin; the call itself is checked against its
// key's allowed_origins.
func (h *handler) trackingPreflight(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	hdr.Add("Vary", "Access-Control-Request-Headers")
	if origin := r.Header.Get("Origin"); origin != "" {
		hdr.Set("Access-Control-Allow-Origin", origin)
	}
	hdr.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	allowHeaders := "Authorization, Content-Type, Content-Encoding, X-API-Key"
	// Echoing what is asked lets SDKs configured with headers of their
	// own (analytics.js batching) through.
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" && len(asked) <= 1000 {
		allowHeaders = asked
	}
	hdr.Set("Access-Control-Allow-Headers", allowHeaders)
	hdr.Set("Access-Control-Max-Age", "86400")
	hdr.Set("Allow", "POST, OPTIONS")
	w.WriteHeader(http.StatusNoContent)
}
