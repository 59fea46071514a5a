package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/plugin"
)

// devPlugins declares the plugins of the development API's test: conv
// with the worked example's purchase as goal, nogoal without one, never
// with a goal nobody reached, and daily, a report plugin.
const devPlugins = `
plugins:
  - name: conv
    command: ["/bin/true"]
    goal: {event: eshop/purchase/1-0-0}
    variables:
      - {name: depth, type: number, default: 3}
  - name: nogoal
    command: ["/bin/true"]
  - name: never
    command: ["/bin/true"]
    goal: {event: eshop/refund/1-0-0}
  - name: daily
    kind: report
    command: ["/bin/true"]
    report: {format: timeseries, events: [web/page_view/1-0-0], date_ranges: [{from: "2024-01-01", to: "2024-01-31"}]}
`

// devStatus is the development API's status answer.
type devStatus struct {
	Status  string `json:"status"`
	Moment  string `json:"moment"`
	Message string `json:"message"`
	Error   struct {
		Code string `json:"code"`
	} `json:"error"`
}

// TestDeveloperAPI walks Stormly's local-development API (spec §13)
// through real HTTP: the keys, initial_dataset and its answers,
// get_manifest of each stage before and after the dataset is ready, and
// that the manifests' URLs work (conformance item 12).
func TestDeveloperAPI(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newPluginServerWith(t, backend, plugin.Options{}, api.Config{APIKeys: []string{"boot-key"}})
			s.header, s.extraConfig = map[string]string{"x-api-key": "boot-key"}, devPlugins
			s.workedProfiles(t)
			keys := map[string]string{"X-Project-Key": "boot-key", "X-Dataset-Key": "conv"}
			dev := func(method, path string, header map[string]string) response {
				t.Helper()
				return s.do(t, method, "/api/developer/"+path, header, nil)
			}
			wantError := func(r response, status int, code string) {
				t.Helper()
				if e := decode[errorAnswer](t, r); r.status != status || e.Error.Code != code {
					t.Fatalf("%d %s, want %d %s", r.status, r.body, status, code)
				}
			}

			// The keys: X-Project-Key is a Weft key; X-Dataset-Key a plugin.
			wantError(dev("GET", "get_manifest/initial", map[string]string{"X-Dataset-Key": "conv"}), 401, "unauthorized")
			wantError(dev("GET", "get_manifest/initial", map[string]string{"X-Project-Key": "weft_wrong", "x-api-key": "boot-key", "X-Dataset-Key": "conv"}), 401, "unauthorized")
			wantError(dev("POST", "initial_dataset/latest", map[string]string{"X-Project-Key": "boot-key"}), 400, "missing_dataset_key")
			wantError(dev("POST", "initial_dataset/latest", map[string]string{"X-Project-Key": "boot-key", "X-Dataset-Key": "nope"}), 404, "unknown_dataset_key")
			wantError(dev("GET", "get_manifest/initial", map[string]string{"X-Project-Key": "boot-key", "X-Dataset-Key": "conv\xff\xfe"}), 404, "unknown_dataset_key")
			wantError(dev("GET", "nothing/here", keys), 404, "not_found")

			// Before initial_dataset: 404 {"status":"missing"}.
			r := dev("GET", "get_manifest/initial", keys)
			if st := decode[devStatus](t, r); r.status != 404 || st.Status != "missing" || st.Error.Code != "dataset_missing" {
				t.Fatalf("manifest before initial_dataset: %d %s", r.status, r.body)
			}
			for _, bad := range []string{"1_sec", "LATEST", "%00", "95_pct%2F..", strings.Repeat("9", 5000)} {
				wantError(dev("POST", "initial_dataset/"+bad, keys), 400, "bad_moment")
			}

			// initial_dataset: 202 preparing, then ready; the manifest
			// answers 409 preparing until it is.
			r = dev("POST", "initial_dataset/0_sec", keys)
			if st := decode[devStatus](t, r); r.status != 202 || st.Status != "preparing" || st.Moment != "0_sec" {
				t.Fatalf("initial_dataset: %d %s", r.status, r.body)
			}
			var m plugin.Manifest
			waitDev(t, func() bool {
				r := dev("GET", "get_manifest/initial", keys)
				if r.status == 409 {
					if st := decode[devStatus](t, r); st.Status != "preparing" || st.Error.Code != "dataset_preparing" || st.Message != "Dataset is still being prepared" {
						t.Fatalf("while preparing: %s", r.body)
					}
					return false
				}
				if r.status != 200 {
					t.Fatalf("manifest: %d %s", r.status, r.body)
				}
				m = decode[plugin.Manifest](t, r)
				return true
			})
			r = dev("POST", "initial_dataset/0_sec", keys)
			if st := decode[devStatus](t, r); r.status != 200 || st.Status != "ready" || st.Moment != "0_sec" {
				t.Fatalf("initial_dataset again: %d %s", r.status, r.body)
			}
			if m.Stage != "initial" || m.InputParams["depth"] != 3.0 || len(m.GetUploadURLs) != 1 {
				t.Fatalf("initial manifest %+v", m)
			}
			meta, _ := json.Marshal(m.Metadata["datasets"])
			if string(meta) != `{"initial":{"fullDatasetSize":3,"moment":{"seconds":0,"type":"since"}}}` {
				t.Fatalf("initial datasets %s", meta)
			}
			rows := decode[datasetBody](t, fetch(t, "GET", m.DataURLs["initial"], nil))
			if len(rows.Data) != 3 || rows.Metadata.Columns[0] != "user_id" {
				t.Fatalf("initial dataset %+v", rows)
			}
			// Upload in initial through the manifest, download it back.
			put := fetch(t, "GET", m.GetUploadURLs["initial"]+"/model.bin", nil)
			if put.status != 200 || fetch(t, "PUT", string(put.body), []byte("weights")).status != 200 {
				t.Fatalf("upload url: %d %s", put.status, put.body)
			}
			if got := fetch(t, "GET", m.DownloadURLs["initial"]+"/model.bin", nil); got.status != 200 || string(got.body) != "weights" {
				t.Fatalf("download: %d %s", got.status, got.body)
			}

			// upload_url/{dataset}/{stage}/{path}: the same, asked with the
			// keys; only into a stage whose manifest was asked for.
			up := dev("GET", "upload_url/conv/initial/notes/a.txt", map[string]string{"X-Project-Key": "boot-key"})
			if up.status != 200 || !strings.HasPrefix(up.header.Get("Content-Type"), "text/plain") ||
				fetch(t, "PUT", string(up.body), []byte("note")).status != 200 {
				t.Fatalf("upload_url: %d %s", up.status, up.body)
			}
			if got := fetch(t, "GET", m.DownloadURLs["initial"]+"/notes/a.txt", nil); string(got.body) != "note" {
				t.Fatalf("download of the upload_url file: %d %s", got.status, got.body)
			}
			wantError(dev("GET", "upload_url/conv/trainMore/m.bin", keys), 403, "stage_not_running")
			wantError(dev("GET", "upload_url/nogoal/initial/m.bin", keys), 400, "bad_request")
			wantError(dev("GET", "upload_url/nope/initial/m.bin", map[string]string{"X-Project-Key": "boot-key"}), 404, "unknown_dataset_key")
			wantError(dev("GET", "upload_url/conv/initial/%2Fetc%2Fpasswd", keys), 400, "invalid_path")

			// An additional stage: its name, the initial dataset, the files
			// of initial and of itself, uploads into itself only.
			r = dev("GET", "get_manifest/trainMore", keys)
			sm := decode[plugin.Manifest](t, r)
			if r.status != 200 || sm.Stage != "trainMore" || sm.DataURLs["initial"] == "" || len(sm.DownloadURLs) != 2 ||
				sm.DownloadURLs["trainMore"] == "" || len(sm.GetUploadURLs) != 1 || sm.GetUploadURLs["trainMore"] == "" {
				t.Fatalf("trainMore manifest: %d %s", r.status, r.body)
			}
			if got := fetch(t, "GET", sm.DownloadURLs["initial"]+"/model.bin", nil); string(got.body) != "weights" {
				t.Fatalf("trainMore reads initial's model: %d %s", got.status, got.body)
			}
			if up := dev("GET", "upload_url/conv/trainMore/m.bin", keys); up.status != 200 {
				t.Fatalf("upload_url of trainMore: %d %s", up.status, up.body)
			}

			// The batch stage: the first batch of the batch dataset, options {}.
			r = dev("GET", "get_manifest/batch", keys)
			bm := decode[plugin.Manifest](t, r)
			batch, _ := json.Marshal(bm.Metadata["batch"])
			if r.status != 200 || bm.Stage != "batch" || string(bm.Options) != "{}" || string(batch) != `{"count":1,"index":0}` ||
				!strings.Contains(bm.DataURLs["batch"], "range_start_gt_or_eq=0&range_end_lt=1") {
				t.Fatalf("batch manifest: %d %s", r.status, r.body)
			}
			if rows := decode[datasetBody](t, fetch(t, "GET", bm.DataURLs["batch"], nil)); len(rows.Data) != 3 {
				t.Fatalf("batch dataset: %+v", rows)
			}
			for _, bad := range []string{"deploy", "9lives", "a-b", strings.Repeat("a", 65)} {
				wantError(dev("GET", "get_manifest/"+bad, keys), 400, "bad_stage")
			}
			// get_manifest without a stage is for report plugins, whose
			// data URL serves the report; they have no dataset or stages.
			wantError(dev("GET", "get_manifest", keys), 400, "not_report_plugin")
			daily := map[string]string{"X-Project-Key": "boot-key", "X-Dataset-Key": "daily"}
			r = dev("GET", "get_manifest", daily)
			rm := decode[plugin.ReportManifest](t, r)
			if r.status != 200 || rm.DataURL == "" || rm.GetUploadURL == "" {
				t.Fatalf("report manifest: %d %s", r.status, r.body)
			}
			report := fetch(t, "GET", rm.DataURL, nil)
			if report.status != 200 || !strings.Contains(string(report.body), `"dataFormat"`) || !strings.Contains(string(report.body), `"data"`) {
				t.Fatalf("report data: %d %s", report.status, report.body)
			}
			wantError(dev("GET", "get_manifest/initial", daily), 400, "bad_request")
			wantError(dev("POST", "initial_dataset/latest", daily), 400, "bad_request")

			// A percentile needs an event goal; a dataset that cannot be
			// made answers 409 failed, naming why, until asked for again.
			nogoal := map[string]string{"X-Project-Key": "boot-key", "X-Dataset-Key": "nogoal"}
			wantError(dev("POST", "initial_dataset/95_pct", nogoal), 400, "bad_moment")
			never := map[string]string{"X-Project-Key": "boot-key", "X-Dataset-Key": "never"}
			if r := dev("POST", "initial_dataset/95_pct", never); r.status != 202 {
				t.Fatalf("initial_dataset 95_pct: %d %s", r.status, r.body)
			}
			waitDev(t, func() bool {
				r := dev("GET", "get_manifest/initial", never)
				st := decode[devStatus](t, r)
				if st.Status == "preparing" {
					return false
				}
				if r.status != 409 || st.Status != "failed" || st.Error.Code != "dataset_failed" || !strings.Contains(st.Message, "no user reached the goal") {
					t.Fatalf("a dataset that cannot be made: %d %s", r.status, r.body)
				}
				return true
			})
			if r := dev("POST", "initial_dataset/latest", never); r.status != 202 {
				t.Fatalf("initial_dataset latest after a failure: %d %s", r.status, r.body)
			}
			waitDev(t, func() bool { return dev("GET", "get_manifest/initial", never).status == 200 })
			// Another moment makes the dataset again.
			if r := dev("POST", "initial_dataset/latest", keys); r.status != 202 {
				t.Fatalf("initial_dataset at another moment: %d %s", r.status, r.body)
			}
			waitDev(t, func() bool {
				r := dev("POST", "initial_dataset/latest", keys)
				return r.status == 200 && decode[devStatus](t, r).Moment == "latest"
			})
		})
	}
}

// waitDev polls until done, for at most a minute.
func waitDev(t *testing.T, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !done(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
