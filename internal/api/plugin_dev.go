package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/pluginrun"
)

// Stormly's local-development API (spec §13) under /api/developer/. Its
// two headers map onto Weft: X-Project-Key is a Weft API key (the admin
// scope, as POST /v1/plugins/{name}/manifest, since a manifest hands out
// upload URLs; x-api-key is taken too), X-Dataset-Key the name of a plugin
// declared under plugins:, whose development run is dev-<name>.
const (
	projectKeyHeader = "X-Project-Key"
	datasetKeyHeader = "X-Dataset-Key"
	developerPrefix  = "/api/developer/"
)

// developer serves the development API of the handler's plugins.
type developer struct {
	h   *handler
	dev *pluginrun.Dev
}

// developerRoutes registers the development API on mux and returns its
// routes for the route table.
func (h *handler) developerRoutes(mux *routeMux) []route {
	d := &developer{h: h, dev: pluginrun.NewDev(h.plugins)}
	dev := newRouteMux(h.guard)
	dev.Route(scopeAdmin, "POST "+developerPrefix+"initial_dataset/{moment}", d.initialDataset)
	dev.Route(scopeAdmin, "GET "+developerPrefix+"get_manifest", d.reportManifest)
	dev.Route(scopeAdmin, "GET "+developerPrefix+"get_manifest/{stage}", d.manifest)
	dev.Route(scopeAdmin, "GET "+developerPrefix+"upload_url/{dataset}/{stage}/{path...}", d.uploadURL)
	dev.HandleFunc(developerPrefix, h.requireAnyKey(h.notFound))
	mux.Handle(developerPrefix, projectKey(dev))
	return dev.routes
}

// projectKey makes X-Project-Key the request's API key.
func projectKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get(projectKeyHeader); k != "" {
			r.Header.Set(APIKeyHeader, k)
		}
		next.ServeHTTP(w, r)
	})
}

// plugin reads X-Dataset-Key: a declared plugin's name, with the config
// in force. It is no credential (X-Project-Key is), so a missing one is a
// 400 and one naming no plugin a 404.
func (d *developer) plugin(w http.ResponseWriter, r *http.Request) (string, *config.Config, bool) {
	name := r.Header.Get(datasetKeyHeader)
	if name == "" {
		d.h.writeError(w, r, &Error{http.StatusBadRequest, "missing_dataset_key",
			"missing " + datasetKeyHeader + " header: the name of a plugin declared under plugins: in weft.yaml"})
		return "", nil, false
	}
	_, cfg, err := d.h.pipeline.Config(r.Context())
	if err != nil {
		d.h.writeError(w, r, err)
		return "", nil, false
	}
	if _, ok := cfg.Plugin(name); !ok {
		d.h.writeError(w, r, &Error{http.StatusNotFound, "unknown_dataset_key",
			datasetKeyHeader + " " + clip.String(name) + " names no plugin declared under plugins: in weft.yaml"})
		return "", nil, false
	}
	return name, cfg, true
}

// initialDataset is POST /api/developer/initial_dataset/{moment}: 202
// {"status":"preparing"} when it starts (or is already) making the
// initial dataset, 200 {"status":"ready"} once one at that moment is
// made.
func (d *developer) initialDataset(w http.ResponseWriter, r *http.Request) {
	name, cfg, ok := d.plugin(w, r)
	if !ok {
		return
	}
	st, err := d.dev.PrepareInitial(r.Context(), cfg, name, r.PathValue("moment"))
	if err != nil {
		d.h.writeError(w, r, err)
		return
	}
	status := http.StatusAccepted
	if st.Status == pluginrun.DevReady {
		status = http.StatusOK
	}
	writeJSON(w, status, st)
}

// devStatusBody is a manifest's answer while its dataset is not ready:
// Stormly's status message with Weft's error beside it.
type devStatusBody struct {
	pluginrun.DevDataset
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// manifest is GET /api/developer/get_manifest/{stage}: 200 with the
// manifest, 409 {"status":"preparing"} while the initial dataset is made
// (or {"status":"failed"} when making it failed), 404 {"status":"missing"}
// before initial_dataset was asked for.
func (d *developer) manifest(w http.ResponseWriter, r *http.Request) {
	name, cfg, ok := d.plugin(w, r)
	if !ok {
		return
	}
	m, err := d.dev.Manifest(r.Context(), cfg, name, r.PathValue("stage"))
	var nr *pluginrun.DevNotReadyError
	if errors.As(err, &nr) {
		body := devStatusBody{DevDataset: nr.DevDataset}
		status := http.StatusConflict
		if nr.Status == pluginrun.DevMissing {
			status = http.StatusNotFound
		}
		body.Error.Code, body.Error.Message, body.Error.RequestID = "dataset_"+nr.Status, nr.Message, requestID(r.Context())
		writeJSON(w, status, body)
		return
	}
	if err != nil {
		d.h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// reportManifest is GET /api/developer/get_manifest: a report plugin's
// manifest.
func (d *developer) reportManifest(w http.ResponseWriter, r *http.Request) {
	name, cfg, ok := d.plugin(w, r)
	if !ok {
		return
	}
	m, err := d.dev.ReportManifest(r.Context(), cfg, name)
	if err != nil {
		d.h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// uploadURL is GET /api/developer/upload_url/{dataset}/{stage}/{path}:
// the signed PUT URL, as text, of a file of a running stage of the
// development run of plugin {dataset} (X-Dataset-Key, when sent, must
// name the same plugin).
func (d *developer) uploadURL(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("dataset")
	if k := r.Header.Get(datasetKeyHeader); k != "" && k != name {
		d.h.writeError(w, r, badRequest(datasetKeyHeader+" "+clip.String(k)+" differs from the plugin of the path, "+clip.String(name)))
		return
	}
	r.Header.Set(datasetKeyHeader, name)
	_, cfg, ok := d.plugin(w, r)
	if !ok {
		return
	}
	u, err := d.dev.UploadURL(r.Context(), cfg, name, r.PathValue("stage"), r.PathValue("path"))
	if err != nil {
		d.h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, u) //nolint:errcheck // the client went away
}
