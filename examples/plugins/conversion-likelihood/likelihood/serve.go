package likelihood

// The deploy stage (specs/stormly.md §10): an HTTP server that scores
// one user per request with the model the initial stage trained.

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Paths and the port the http object of the initial results names; the
// platform runs startServerCmd with PORT set to the port it picked (Weft
// also replaces deployPort in the command with it).
const (
	deployPort   = 5000
	statusPath   = "/status_check"
	predictPath  = "/predict"
	maxBodyBytes = 1 << 20
)

// httpResults is the initial results' http object: it makes the plugin
// deployable.
func httpResults(stage string) (map[string]any, error) {
	cmd, err := serverCommand()
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"port":           deployPort,
		"statusPath":     statusPath,
		"requestPath":    predictPath,
		"startServerCmd": cmd,
		"options":        map[string]any{"model": map[string]any{"stage": stage, "path": modelPath}},
		"explain": map[string]any{"output": map[string]any{"examples": []any{
			map[string]any{"score": 0.8123}, map[string]any{"score": 0.0412}}}},
	}, nil
}

// serverCommand starts this very program in serve mode: the executable
// and the arguments it was started with, without manifest.json and
// results.json (weft example-plugin conversion-likelihood keeps its
// subcommand), shell-quoted.
func serverCommand() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this program for startServerCmd: %w", err)
	}
	words := []string{exe}
	if len(os.Args) > 3 {
		words = append(words, os.Args[1:len(os.Args)-2]...)
	}
	for i, w := range words {
		words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return "exec " + strings.Join(words, " ") + " serve --port " + strconv.Itoa(deployPort), nil
}

// serve runs the deploy stage: reads $PLUGIN_MANIFEST, downloads the
// model named by options.model, and serves POST /status_check (200 once
// the model is loaded) and POST /predict on 127.0.0.1:--port (default
// $PORT) until SIGTERM.
func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.Int("port", 0, "port to listen on (default $PORT)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *port == 0 {
		p, err := strconv.Atoi(os.Getenv("PORT"))
		if err != nil {
			logf("serve: no --port and PORT=%q is not a port", os.Getenv("PORT"))
			return 2
		}
		*port = p
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path := os.Getenv("PLUGIN_MANIFEST")
	if path == "" {
		path = "manifest.json"
	}
	m, err := readManifest(path)
	if err != nil {
		logf("serve: %v", err)
		return 1
	}
	if len(m.GetUploadURLs) > 0 {
		logf("serve: the %s manifest has upload URLs; a deployment only downloads", m.Stage)
	}
	stage, file := "initial", modelPath
	if mo, ok := m.Options["model"].(map[string]any); ok {
		stage, file = optString(mo, "stage", stage), optString(mo, "path", file)
	}
	mb, err := download(ctx, m, stage, file, 256<<20)
	if err != nil {
		logf("serve: %v", err)
		return 1
	}
	var model Model
	if err := json.Unmarshal(mb, &model); err != nil || len(model.Inputs) == 0 || len(model.Weights) != len(model.Inputs) {
		logf("serve: invalid model %s from stage %s: %v", file, stage, err)
		return 1
	}
	columns := model.Columns()
	model.Bind(columns)
	about := map[string]any{"stage": stage, "path": file, "trainedAt": model.TrainedAt}
	if model.Metrics != nil {
		about["auc"] = model.Metrics.AUC
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+statusPath, func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("POST "+predictPath, func(w http.ResponseWriter, r *http.Request) {
		// A user as a dataset row: feature column → value, and data_now
		// (RFC 3339, default now) for date features.
		var row map[string]any
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		dec.UseNumber()
		if err := dec.Decode(&row); err != nil || row == nil {
			answer(w, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("the body must be a JSON object of feature columns (%s): %v", strings.Join(columns, ", "), err)})
			return
		}
		now := time.Now().UTC()
		if s, ok := row["data_now"].(string); ok {
			if t, ok := parseTime(s); ok {
				now = t
			}
		}
		vals := make([]any, len(columns))
		for j, c := range columns {
			vals[j] = plainJSON(row[c])
		}
		answer(w, http.StatusOK, map[string]any{"score": round(model.Score(Row{Values: vals, Now: now}), 6), "model": about})
	})
	// Weft sends the token it gave the server in its environment on every
	// call; anything else on the machine gets a 401.
	handler := requireToken(os.Getenv("PLUGIN_DEPLOY_TOKEN"), mux)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		logf("serve: %v", err)
		return 1
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut) //nolint:errcheck // exiting anyway
	}()
	logf("serving the model of stage %s (%d inputs) on %s: POST %s, POST %s", stage, len(model.Inputs), ln.Addr(), statusPath, predictPath)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logf("serve: %v", err)
		return 1
	}
	return 0
}

// plainJSON turns json.Number into float64, as the dataset decoder has them.
func plainJSON(v any) any {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		if err == nil {
			return f
		}
	}
	return v
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// requireToken answers 401 to a request without "Authorization: Bearer
// <token>". Without a token (a server started by hand) it lets every
// request through: it listens on 127.0.0.1 only.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			answer(w, http.StatusUnauthorized, map[string]any{"error": "missing or wrong deploy token: only the Weft server that started this one may call it"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
