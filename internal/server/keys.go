package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/weftdata/weft/internal/keys"
)

// warnOpen says at start when no key is configured: every route is then
// open (on loopback only, see Config.Validate) until the first key is
// created.
func warnOpen(ctx context.Context, log *slog.Logger, keyring *keys.Keyring) {
	configured, err := keyring.Configured(ctx)
	switch {
	case err != nil:
		log.Warn("cannot tell whether API keys are configured", "error", err)
	case !configured:
		log.Warn("no API key configured: every route is open on this loopback address; create an admin key first (weft keys create NAME --scope admin) or start with --api-key")
	}
}

// metricsServer serves GET /metrics on a listen address of its own.
type metricsServer struct {
	ln   net.Listener
	http *http.Server
}

func listenMetrics(cfg Config, metrics http.Handler) (*metricsServer, error) {
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	m := &metricsServer{ln: ln, http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}}
	go func() {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("metrics listener failed", "error", err)
		}
	}()
	return m, nil
}

func (m *metricsServer) addr() string { return m.ln.Addr().String() }

// close is the release of a Start that failed. Serve may not have taken
// the listener yet, so it is closed too (a second close's error is moot).
func (m *metricsServer) close() error {
	err := m.http.Close()
	_ = m.ln.Close()
	return err
}

func (m *metricsServer) shutdown(ctx context.Context) error { return m.http.Shutdown(ctx) }

// MetricsAddr is the address GET /metrics is served on apart from the
// API, with the real port; empty without --metrics-addr.
func (s *Server) MetricsAddr() string {
	if s.metrics == nil {
		return ""
	}
	return s.metrics.addr()
}
