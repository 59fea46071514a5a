package api

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/weftdata/weft/internal/plugin"
)

// pluginURLs serves the signed URLs plugins use (/plugin/...): upload
// URLs, uploads, downloads and datasets. They carry their own signature,
// so they are outside /v1 and its API keys, and they are dispatched before
// the mux, which would redirect a path with ".." or "//" instead of
// letting it be refused with a message.
func (h *handler) pluginURLs(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, plugin.PathPrefix)
	t, path, err := h.plugins.Parse(r.Method, rest)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	switch t.Kind {
	case plugin.KindUploadURL:
		u, err := h.plugins.UploadURL(ctx, t, path)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, u) //nolint:errcheck // the client went away
	case plugin.KindPut:
		n, err := h.plugins.Put(ctx, t, path, r.Body, r.ContentLength)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.log.Debug("plugin file stored", "run", t.Run, "stage", t.Scope, "path", path, "bytes", n)
		w.WriteHeader(http.StatusOK)
	case plugin.KindFiles:
		f, err := h.plugins.Open(ctx, t, path)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size(), 10))
		if r.Method == http.MethodHead {
			return
		}
		io.Copy(w, f) //nolint:errcheck // the client went away
	case plugin.KindData:
		h.pluginDataset(w, r, t)
	}
}

// pluginDataset answers a data URL: the dataset streamed as JSON.
func (h *handler) pluginDataset(w http.ResponseWriter, r *http.Request, t plugin.Token) {
	q := r.URL.Query()
	rg, err := plugin.ParseRange(q.Get("range_start_gt_or_eq"), q.Get("range_end_lt"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Errors before the first byte still get a status; after it the
	// stream is cut short, which the client sees as broken JSON.
	sw := &startedWriter{w: w}
	n, err := h.plugins.WriteDataset(r.Context(), t, rg, sw)
	if err != nil {
		if !sw.started {
			h.writeError(w, r, err)
			return
		}
		h.log.Error("dataset stream cut short", "run", t.Run, "dataset", t.Scope, "rows", n, "error", err)
		panic(http.ErrAbortHandler)
	}
}

// startedWriter sets the JSON content type on the first write.
type startedWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
	}
	return s.w.Write(p)
}
