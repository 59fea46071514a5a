package pluginrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/stitch"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// batchYAML declares the batcher plugin twice: for marketing, whose
// consent the bool attribute marketing_ok holds, and without a purpose
// (analytics, which the consent section does not name: everyone).
const batchYAML = `stitching:
  rules:
    - {identifier: email, event: shop/signup, value_expression: "payload->>'email'"}
attributes:
  - {id: marketing_ok, type: last, types: [signup], data_type: bool, value: "payload->>'marketing'"}
consent:
  marketing: {attribute: marketing_ok}
plugins:
  - name: mailer
    purpose: marketing
    command: [%[1]q, %[2]q]
  - name: everyone
    command: [%[1]q, %[2]q]
  - name: first_days
    purpose: marketing
    moment: 0_sec
    command: [%[1]q, %[2]q]
`

// serveURLs serves the plugin service's signed URLs (/plugin/...) as the
// API does: upload URLs, uploads and datasets.
func serveURLs(svc *plugin.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, path, err := svc.Parse(r.Method, strings.TrimPrefix(r.URL.Path, plugin.PathPrefix))
		if err == nil {
			switch t.Kind {
			case plugin.KindUploadURL:
				var u string
				if u, err = svc.UploadURL(r.Context(), t, path); err == nil {
					io.WriteString(w, u) //nolint:errcheck // the client went away
				}
			case plugin.KindPut:
				_, err = svc.Put(r.Context(), t, path, r.Body, r.ContentLength)
			case plugin.KindData:
				var rg plugin.Range
				if rg, err = plugin.ParseRange(r.URL.Query().Get("range_start_gt_or_eq"), r.URL.Query().Get("range_end_lt")); err == nil {
					_, err = svc.WriteDataset(r.Context(), t, rg, w)
				}
			default:
				err = fmt.Errorf("unexpected %s", r.URL)
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
}

// customers is how many customers batchRunner's store holds: enough for
// batches of the smallest size (1,000) to make two and more.
const customers = 2100

// batchRunner is a runner of batchYAML over a store holding customers
// u0..u2099: the even ones agreed to marketing, of the odd ones half
// refused and half said nothing. It returns the entity ids of the
// consenting ones and of all, sorted.
func batchRunner(t *testing.T, backend string) (r *runner, db *store.DB, consenting, all []string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH")
	}
	script, err := filepath.Abs("testdata/batcher.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db = dbtest.Open(t, backend)
	var h http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	svc, err := plugin.Open(ctx, db, plugin.Options{BaseURL: "http://" + srv.Listener.Addr().String(),
		StorageURL: "file://" + filepath.ToSlash(t.TempDir()), Commands: plugin.Commands{Patterns: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	h = serveURLs(svc)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf(batchYAML, py, script)))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range customers {
		marketing := []string{"true", "false", "true", "null"}[i%4]
		lines = append(lines, fmt.Sprintf(`{"id":"s%d","source_id":"shop","type":"signup","version":"1-0-0","event_time":"2026-01-02T10:00:00Z","payload":{"email":"u%d@x","marketing":%s}}`, i, i, marketing))
	}
	dbtest.Ingest(t, db, lines...)
	se, err := stitch.New(db, cfg.Stitching, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := se.Run(ctx, 0); err != nil {
		t.Fatal(err)
	}
	ae, err := attr.New(db, cfg.Attributes, cfg.Context, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ae.Run(ctx, attr.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, "SELECT entity_id, value FROM identifiers WHERE category = 'email'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, email string
		var i int
		if err := rows.Scan(&id, &email); err != nil {
			t.Fatal(err)
		}
		fmt.Sscanf(email, "u%d@x", &i) //nolint:errcheck // written above
		all = append(all, id)
		if i%2 == 0 {
			consenting = append(consenting, id)
		}
	}
	if len(all) != customers {
		t.Fatalf("%d entities, want %d", len(all), customers)
	}
	slices.Sort(consenting)
	slices.Sort(all)
	info := Info(&Deps{Plugins: svc, WorkDir: t.TempDir(),
		Config: func(context.Context) (*config.Config, error) { return cfg, nil }})
	return &runner{t: t, info: info, svc: svc, notes: &notes{}}, db, consenting, all
}

// TestRunBatches walks a plugin run through its batch phase with a real
// plugin process reading its datasets and uploading data.json over HTTP:
// initial, the batches its ranges make, publish. A plugin whose purpose
// is marketing sees only the customers who agreed to it, in every
// dataset, and scores only them; one without a purpose sees everyone.
func TestRunBatches(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			r, db, consenting, all := batchRunner(t, backend)
			for _, c := range []struct {
				plugin string
				users  []string
			}{{"mailer", consenting}, {"everyone", all}} {
				run := "run-" + c.plugin
				j := r.info.New()
				st, err := j.Prepare(ctx, r.invocation(run, `{"plugin": "`+c.plugin+`"}`), nil, false)
				if err != nil {
					t.Fatal(err)
				}
				if s := r.state(st); s.Datasets["initial"] != int64(len(c.users)) {
					t.Fatalf("%s: initial dataset of %d users, want %d", c.plugin, s.Datasets["initial"], len(c.users))
				}
				st = r.perform(j, st) // initial
				s := r.state(st)
				var data struct{ Users []string }
				if err := json.Unmarshal(s.Stages[0].Data, &data); err != nil || !slices.Equal(data.Users, c.users) {
					t.Fatalf("%s: the initial stage read users %v (%v), want %v: %s", c.plugin, data.Users, err, c.users, st.State)
				}
				batches := (len(c.users) + 999) / 1000
				if s.Phase != PhaseBatches || s.Batches == nil || s.Batches.Users != int64(len(c.users)) || len(s.Batches.Ranges) != batches || s.Batches.Done != 0 {
					t.Fatalf("%s: after the initial stage: %s", c.plugin, st.State)
				}
				for k := range batches {
					st = r.perform(j, st)
					if s = r.state(st); s.Batches.Done != k+1 {
						t.Fatalf("%s: after batch %d: %s", c.plugin, k, st.State)
					}
				}
				if s.Phase != PhasePublish || s.Batches.Updates != int64(len(c.users)) {
					t.Fatalf("%s: after the batches: %s", c.plugin, st.State)
				}
				if st = r.perform(j, st); r.state(st).Phase != PhaseSucceeded {
					t.Fatalf("%s: after publishing: %s", c.plugin, st.State)
				}
				var scored []string
				rows, err := db.QueryContext(ctx, `SELECT v.entity_id FROM plugin_property_values v
					JOIN plugin_properties p ON p.id = v.property_id WHERE p.plugin = $1 ORDER BY v.entity_id`, c.plugin)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var id string
					if err := rows.Scan(&id); err != nil {
						t.Fatal(err)
					}
					scored = append(scored, id)
				}
				rows.Close()
				if !slices.Equal(scored, c.users) {
					t.Errorf("%s: scored %v, want %v", c.plugin, scored, c.users)
				}
			}
			// A dataset at each user's first moment fixes its users when
			// made: those with consent only.
			st, err := r.info.New().Prepare(ctx, r.invocation("run-moment", `{"plugin": "first_days"}`), nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if s := r.state(st); s.Datasets["initial"] != int64(len(consenting)) {
				t.Errorf("first_days: initial dataset of %d users, want %d", s.Datasets["initial"], len(consenting))
			}
			var fixed int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM plugin_dataset_users WHERE run_id = 'run-moment'").Scan(&fixed); err != nil || fixed != len(consenting) {
				t.Errorf("first_days: %d users fixed (%v), want %d", fixed, err, len(consenting))
			}
		})
	}
}
