package api_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// TestPluginCleanup: staging rows of runs that ended unpublished go at
// the next cleanup; after the retention, old runs lose their files,
// datasets, stages and properties, except each plugin's latest successful
// run, the run of its latest properties and runs still active.
func TestPluginCleanup(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newPluginServer(t, backend, plugin.Options{Retention: 24 * time.Hour})
			s.workedProfiles(t)
			ctx := context.Background()
			db := s.store
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var user string
			if err := db.QueryRowContext(ctx, "SELECT id FROM entities WHERE merged_into IS NULL ORDER BY id LIMIT 1").Scan(&user); err != nil {
				t.Fatal(err)
			}
			// Runs as the job runtime records them (status, completed_at).
			runs := map[string]string{"old-a": store.RunComplete, "new-a": store.RunComplete, "failed-a": store.RunError,
				"terminated-a": store.RunTerminated, "running-a": store.RunRunning, "only-b": store.RunComplete}
			t0 := s.clock.Now().UTC()
			for run, status := range runs {
				var completed any
				if status != store.RunRunning {
					completed = t0
				}
				exec(`INSERT INTO job_runs (id, job, kind, params, status, trigger, scheduled_at, run_after, created_at, completed_at)
					VALUES ($1, 'plugin:a', 'plugin', '{}', $2, 'manual', CAST($3 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ), CAST($4 AS TIMESTAMPTZ))`,
					run, status, t0, completed)
			}
			// Each run (and a development run) has a stage with a file
			// and a dataset.
			all := append(slices.Sorted(maps.Keys(runs)), "dev-a")
			for _, run := range all {
				if err := s.plugins.StageStart(ctx, run, "initial"); err != nil {
					t.Fatal(err)
				}
				tok := plugin.Token{Kind: plugin.KindPut, Run: run, Scope: "initial", Expires: t0.Add(time.Hour)}
				if _, err := s.plugins.Put(ctx, tok, "model/m.bin", strings.NewReader(run), -1); err != nil {
					t.Fatal(err)
				}
				if err := s.plugins.DatasetCreate(ctx, run, &plugin.Dataset{Key: "initial", Seed: "a", Now: t0}); err != nil {
					t.Fatal(err)
				}
			}
			stage := func(run string) {
				t.Helper()
				d, err := plugin.ParseBatchData(strings.NewReader(`{"properties": ["score"], "updates": [["` + user + `", 0.5]]}`))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.plugins.Stage(ctx, run, 0, d); err != nil {
					t.Fatal(err)
				}
			}
			publish := func(plug, run string, started time.Time) {
				t.Helper()
				stage(run)
				if _, err := s.plugins.Publish(ctx, plugin.PublishParams{Plugin: plug, Run: run, Started: started,
					Properties: []plugin.PropertyDecl{{Name: "score", Type: plugin.TypeNumber}}}); err != nil {
					t.Fatal(err)
				}
				if err := s.plugins.RunEnded(ctx, run, plug, plugin.RunSucceeded); err != nil {
					t.Fatal(err)
				}
				s.clock.Add(time.Second)
			}
			publish("a", "old-a", t0.Add(-48*time.Hour))
			publish("a", "new-a", t0.Add(-24*time.Hour))
			publish("b", "only-b", t0.Add(-72*time.Hour))
			for _, run := range []string{"failed-a", "terminated-a", "running-a"} {
				stage(run)
			}
			staged := func() []string {
				t.Helper()
				rows, err := db.QueryContext(ctx, "SELECT DISTINCT run_id FROM plugin_property_staging ORDER BY run_id")
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var r string
					if err := rows.Scan(&r); err != nil {
						t.Fatal(err)
					}
					out = append(out, r)
				}
				return out
			}

			// Within the retention: only the staging of ended runs goes.
			res, err := s.plugins.Cleanup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := staged(); res.Staged != 2 || len(res.Runs) != 0 || !slices.Equal(got, []string{"running-a"}) {
				t.Fatalf("first cleanup %+v; staging left of %v", res, got)
			}
			// The job runtime forgets its runs after the retention: the
			// latest successful run of a is still known as such.
			exec("DELETE FROM job_runs WHERE id = 'new-a'")

			s.clock.Add(25 * time.Hour)
			res, err = s.plugins.Cleanup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pruned := []string{"dev-a", "failed-a", "old-a", "terminated-a"}
			if !slices.Equal(res.Runs, pruned) || res.Files != 4 {
				t.Fatalf("second cleanup %+v, want runs %v and 4 files", res, pruned)
			}
			for _, run := range all {
				gone := slices.Contains(pruned, run)
				f, err := s.plugins.Open(ctx, plugin.Token{Kind: plugin.KindFiles, Run: run, Scope: "initial"}, "model/m.bin")
				if gone != errors.Is(err, store.ErrNotFound) {
					t.Errorf("run %s: file read %v (pruned %v)", run, err, gone)
				}
				if err == nil {
					b, _ := io.ReadAll(f)
					f.Close()
					if string(b) != run {
						t.Errorf("run %s: file holds %q", run, b)
					}
				}
				if _, err := s.plugins.DatasetGet(ctx, run, "initial"); gone != errors.Is(err, store.ErrNotFound) {
					t.Errorf("run %s: dataset %v (pruned %v)", run, err, gone)
				}
				if st, err := s.plugins.StageList(ctx, run); err != nil || gone != (len(st) == 0) {
					t.Errorf("run %s: stages %v %v (pruned %v)", run, st, err, gone)
				}
			}
			props, err := s.plugins.Properties(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range props {
				ids = append(ids, p.ID)
			}
			want := []string{"a/" + t0.Add(-24*time.Hour).Format("20060102T150405Z") + "/score", "b/" + t0.Add(-72*time.Hour).Format("20060102T150405Z") + "/score"}
			if !slices.Equal(ids, want) {
				t.Errorf("properties %v, want %v", ids, want)
			}
			var values int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM plugin_property_values").Scan(&values); err != nil || values != 2 {
				t.Errorf("property values left: %d %v", values, err)
			}
			if got := staged(); !slices.Equal(got, []string{"running-a"}) {
				t.Errorf("staging of the running run: %v", got)
			}
			// Nothing more to do.
			if res, err := s.plugins.Cleanup(ctx); err != nil || len(res.Runs) != 0 || res.Staged != 0 {
				t.Errorf("third cleanup %+v %v", res, err)
			}
		})
	}
}
