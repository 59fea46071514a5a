package api_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/worked"
)

// workedProfiles loads the spec's worked example and calculates its
// attributes: three entities, X (Jane, two purchases), Y and Z. e7, which
// links Jane's two cookies, comes in a second stitching pass, so X is the
// survivor of a merge.
func (s *pluginServer) workedProfiles(t *testing.T) {
	t.Helper()
	if r := s.do(t, "PUT", "/v1/config", s.header, []byte(worked.Config+s.extraConfig)); r.status != 200 {
		t.Fatalf("apply: %s", r.body)
	}
	for _, events := range [][]string{append(append([]string{}, worked.Events[:6]...), worked.Events[7:]...), worked.Events[6:7]} {
		if r := s.do(t, "POST", "/v1/events", s.header, []byte(strings.Join(events, "\n"))); r.status != 200 {
			t.Fatalf("ingest: %s", r.body)
		}
		s.do(t, "POST", "/v1/stitching/run", s.header, nil)
	}
	if r := s.do(t, "POST", "/v1/attributes/run", s.header, []byte(`{}`)); r.status != 200 {
		t.Fatalf("attributes: %s", r.body)
	}
}

func (s *pluginServer) entityByEmail(t *testing.T, email string) string {
	t.Helper()
	return decode[struct{ ID string }](t, s.do(t, "GET", "/v1/entities?identifier=stitching_email:"+email, nil, nil)).ID
}

// datasetNow is data_now of the worked example's datasets.
var datasetNow = time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)

// workedPluginServer is a plugin server over the worked example, with
// the id of X (Jane).
func workedPluginServer(t *testing.T, backend string) (*pluginServer, string) {
	t.Helper()
	s := newPluginServer(t, backend, plugin.Options{})
	s.workedProfiles(t)
	return s, s.entityByEmail(t, "jane@example.com")
}

type datasetBody struct {
	Metadata struct {
		Columns []string `json:"columns"`
	} `json:"metadata"`
	Data [][]any `json:"data"`
}

// unitHash is weft_unit_hash in Go: the first 52 bits of the MD5.
func unitHash(s string) float64 {
	sum := md5.Sum([]byte(s))
	n, _ := strconv.ParseUint(hex.EncodeToString(sum[:])[:13], 16, 64)
	return float64(n) / (1 << 52)
}

func TestPluginDataset(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newPluginServer(t, backend, plugin.Options{})
			s.workedProfiles(t)
			x := s.entityByEmail(t, "jane@example.com")
			ctx := context.Background()
			run := "run-1"
			now := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
			err := s.plugins.DatasetCreate(ctx, run, &plugin.Dataset{Key: "initial", Seed: "conversion", Now: now,
				Goal: &plugin.Goal{EventType: "eshop/purchase/1-0-0"},
				Features: []plugin.Feature{
					{Column: "feature_revenue", Attribute: "eshop_revenue_sum", DataType: attr.DataFloat},
					{Column: "feature_skus", Attribute: "shoe_skus", DataType: attr.DataString, Multiple: true},
					{Column: "feature_purchases", Attribute: "purchases_custom", DataType: attr.DataInt, Multiple: true},
					{Column: "feature_category", Attribute: "fav_category", DataType: attr.DataString},
				}})
			if err != nil {
				t.Fatal(err)
			}
			dataURL := s.plugins.URL(plugin.KindData, run, "initial", time.Hour)
			get := func(query string) datasetBody {
				t.Helper()
				r := fetch(t, "GET", dataURL+query, nil)
				if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
					t.Fatalf("dataset%s: %d %s", query, r.status, r.body)
				}
				var d datasetBody
				if err := json.Unmarshal(r.body, &d); err != nil {
					t.Fatalf("dataset%s: %v\n%s", query, err, r.body)
				}
				return d
			}
			all := get("")
			wantCols := append(append([]string{}, plugin.FixedColumns...), "feature_revenue", "feature_skus", "feature_purchases", "feature_category")
			if !reflect.DeepEqual(all.Metadata.Columns, wantCols) {
				t.Fatalf("columns %v", all.Metadata.Columns)
			}
			if len(all.Data) != 3 {
				t.Fatalf("%d rows, want 3 (X, Y, Z)", len(all.Data))
			}
			prev := -1.0
			for _, row := range all.Data {
				id, random := row[0].(string), row[5].(float64)
				if random != unitHash("conversion"+id) || random < prev {
					t.Errorf("row %s: random %v (want %v, ascending after %v)", id, random, unitHash("conversion"+id), prev)
				}
				prev = random
				if row[2] != "2024-02-01T00:00:00Z" || row[6] != "initial" || row[8] != "2024-02-01T00:00:00Z" || row[7] != row[1] {
					t.Errorf("row %s: fixed columns %v", id, row[:9])
				}
				if id != x {
					if row[3] != "false" || row[4] != nil || row[9] != nil || row[10] != nil {
						t.Errorf("row %s: %v", id, row)
					}
					continue
				}
				want := []any{"true", "2024-01-04T15:00:00Z", 0.0, "initial"}
				if row[3] != want[0] || row[4] != want[1] {
					t.Errorf("X: goal %v %v", row[3], row[4])
				}
				if row[9] != 200.0 || !reflect.DeepEqual(row[10], []any{"S1", "S2"}) || !reflect.DeepEqual(row[11], []any{2.0}) || row[12] != "shoes" {
					t.Errorf("X: features %v", row[9:])
				}
			}

			// Ranges partition the users and repeat identically.
			cut := strconv.FormatFloat(all.Data[1][5].(float64), 'g', -1, 64)
			low, high := get("?range_end_lt="+cut), get("?range_start_gt_or_eq="+cut+"&range_end_lt=1")
			if len(low.Data) != 1 || len(high.Data) != 2 || !reflect.DeepEqual(append(low.Data, high.Data...), all.Data) {
				t.Errorf("ranges [0,%s) %d rows and [%s,1) %d rows do not partition the dataset", cut, len(low.Data), cut, len(high.Data))
			}
			if again := get(""); !reflect.DeepEqual(again, all) {
				t.Error("a second read differs")
			}
			if d := get("?range_start_gt_or_eq=0.5&range_end_lt=0.5"); len(d.Data) != 0 {
				t.Errorf("empty range: %v", d.Data)
			}
			for q, msg := range map[string]string{
				"?range_start_gt_or_eq=abc":                  `range_start_gt_or_eq="abc" must be a number`,
				"?range_end_lt=1.5":                          `range_end_lt="1.5"`,
				"?range_start_gt_or_eq=-0.1":                 "from 0 to 1",
				"?range_start_gt_or_eq=NaN":                  "must be a number",
				"?range_start_gt_or_eq=0.6&range_end_lt=0.5": "is above",
			} {
				expectError(t, fetch(t, "GET", dataURL+q, nil), 400, "invalid_range", msg)
			}
			expectError(t, fetch(t, "GET", dataURL+"/x", nil), 404, "not_found", "takes no path")
			expectError(t, fetch(t, "GET", s.plugins.URL(plugin.KindData, run, "nope", time.Hour), nil), 404, "not_found", `no dataset "nope"`)
			expectError(t, fetch(t, "GET", strings.Replace(dataURL, "/initial/", "/batch/", 1), nil), 403, "invalid_signature", "")
		})
	}
}

// TestPluginDatasetAttributeGoal: an attribute condition as the goal sets
// y_value per user, with y_timestamp null; users without the attribute
// meet no condition but is_set's complement.
func TestPluginDatasetAttributeGoal(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, x := workedPluginServer(t, backend)
			ctx, now := context.Background(), datasetNow
			for i, c := range []struct {
				goal plugin.Goal
				x    string // X's y_value; everyone else's is "false"
			}{
				{plugin.Goal{Attribute: "eshop_revenue_sum", DataType: attr.DataFloat, Op: ">", Value: 150.0}, "true"},
				{plugin.Goal{Attribute: "eshop_revenue_sum", DataType: attr.DataFloat, Op: ">", Value: 200.0}, "false"},
				{plugin.Goal{Attribute: "eshop_revenue_sum", DataType: attr.DataFloat, Op: ">=", Value: 200.0}, "true"},
				{plugin.Goal{Attribute: "eshop_revenue_sum", DataType: attr.DataFloat, Op: "<", Value: 150.0}, "false"},
				{plugin.Goal{Attribute: "eshop_revenue_sum", DataType: attr.DataFloat, Op: "!=", Value: 1.0}, "true"},
				{plugin.Goal{Attribute: "eshop_revenue_sum", DataType: attr.DataFloat, Op: "is_set"}, "true"},
				{plugin.Goal{Attribute: "fav_category", DataType: attr.DataString, Op: "=", Value: "shoes"}, "true"},
				{plugin.Goal{Attribute: "fav_category", DataType: attr.DataString, Op: "=", Value: "hats"}, "false"},
			} {
				run := "goal-" + strconv.Itoa(i)
				g := c.goal
				if err := s.plugins.DatasetCreate(ctx, run, &plugin.Dataset{Key: "initial", Seed: "s", Now: now, Goal: &g,
					Features: []plugin.Feature{{Column: "feature_revenue", Attribute: "eshop_revenue_sum", DataType: attr.DataFloat}}}); err != nil {
					t.Fatal(err)
				}
				r := fetch(t, "GET", s.plugins.URL(plugin.KindData, run, "initial", time.Hour), nil)
				var d datasetBody
				if err := json.Unmarshal(r.body, &d); err != nil || r.status != 200 {
					t.Fatalf("%+v: %d %s", c.goal, r.status, r.body)
				}
				if len(d.Data) != 3 || len(d.Metadata.Columns) != len(plugin.FixedColumns)+1 {
					t.Fatalf("%+v: %s", c.goal, r.body)
				}
				for _, row := range d.Data {
					want := "false"
					if row[0] == x {
						want = c.x
					}
					if row[3] != want || row[4] != nil {
						t.Errorf("%s %v: row %s: y_value %v, y_timestamp %v; want %s, null", c.goal.Attribute, c.goal.Op+fmt.Sprint(c.goal.Value), row[0], row[3], row[4], want)
					}
				}
			}
		})
	}
}

// TestPluginDatasetMoments: datasets at a moment other than latest count
// each user's attribute features up to base (first event) + seconds,
// keep the goal up to data_now, and a percentile moment leaves out the
// users who converted by their cut-off. An attribute goal is its value
// at data_now, not the current one.
func TestPluginDatasetMoments(t *testing.T) {
	cfg, err := config.Parse([]byte(worked.Config))
	if err != nil {
		t.Fatal(err)
	}
	feats := []plugin.Feature{
		{Column: "feature_revenue", Attribute: "eshop_revenue_sum", DataType: attr.DataFloat},
		{Column: "feature_skus", Attribute: "shoe_skus", DataType: attr.DataString, Multiple: true},
		{Column: "feature_purchases", Attribute: "purchases_custom", DataType: attr.DataInt, Multiple: true},
		{Column: "feature_category", Attribute: "fav_category", DataType: attr.DataString},
	}
	var defs []attr.Definition
	for _, d := range cfg.Attributes {
		if slices.ContainsFunc(feats, func(f plugin.Feature) bool { return f.Attribute == d.ID }) || d.ID == "eshop_revenue_sum" {
			defs = append(defs, d)
		}
	}
	purchase := &plugin.Goal{EventType: "eshop/purchase/1-0-0"}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s, x := workedPluginServer(t, backend)
			ctx, now := context.Background(), datasetNow
			read := func(run string, d *plugin.Dataset) map[string][]any {
				t.Helper()
				d.Key, d.Seed, d.Now, d.Attributes = "initial", "s", now, defs
				if d.Features == nil {
					d.Features = feats
				}
				if err := s.plugins.DatasetCreate(ctx, run, d); err != nil {
					t.Fatal(err)
				}
				r := fetch(t, "GET", s.plugins.URL(plugin.KindData, run, "initial", time.Hour), nil)
				var body datasetBody
				if err := json.Unmarshal(r.body, &body); err != nil || r.status != 200 {
					t.Fatalf("%s: %d %s", run, r.status, r.body)
				}
				rows := map[string][]any{}
				for _, row := range body.Data {
					rows[row[0].(string)] = row
				}
				stored, err := s.plugins.DatasetGet(ctx, run, "initial")
				if err != nil {
					t.Fatal(err)
				}
				if n, err := s.plugins.DatasetSize(ctx, run, stored); err != nil || n != int64(len(rows)) {
					t.Errorf("%s: size %d %v, %d rows", run, n, err, len(rows))
				}
				*d = *stored
				return rows
			}
			// X's first event is e1 at 2024-01-01T10:00; purchases e5
			// (01-04 15:00: S1 shoes, H1 hats, 120.50) and e6 (01-05 16:00).
			d := &plugin.Dataset{Goal: purchase, Moment: &plugin.Moment{Type: plugin.MomentSince, Seconds: 3*86400 + 6*3600}}
			rows := read("since", d)
			if len(rows) != 3 {
				t.Fatalf("since: %d rows, want 3 (users who converted stay)", len(rows))
			}
			want := []any{"true", "2024-01-04T15:00:00Z", "initial", "2024-01-01T10:00:00Z", "2024-01-04T16:00:00Z", 120.5, []any{"S1"}, []any{1.0}, "hats"}
			if got := append(append([]any{}, rows[x][3:5]...), rows[x][6:]...); !reflect.DeepEqual(got, want) {
				t.Errorf("since: X %v, want %v", got, want)
			}
			d = &plugin.Dataset{Goal: purchase, Moment: &plugin.Moment{Type: plugin.MomentSince, Seconds: 0}}
			rows = read("zero", d)
			if got := rows[x][7:]; !reflect.DeepEqual(got, []any{"2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z", nil, nil, []any{0.0}, nil}) || rows[x][3] != "true" {
				t.Errorf("0_sec: X %v", rows[x])
			}
			// 95th percentile: the 5th percentile of the seconds to the
			// first purchase (X's alone: 3 days 5 h); X converted by then.
			d = &plugin.Dataset{Goal: purchase, Moment: &plugin.Moment{Type: plugin.MomentPercentile, Percent: 95}}
			rows = read("p95", d)
			if _, ok := rows[x]; ok || len(rows) != 2 || d.Moment.Seconds != 3*86400+5*3600 {
				t.Errorf("95_pct: seconds %v, rows %v", d.Moment.Seconds, rows)
			}
			for id, row := range rows {
				base, _ := time.Parse(time.RFC3339, row[7].(string))
				if row[8] != base.Add(277200*time.Second).Format(time.RFC3339) || row[3] != "false" {
					t.Errorf("95_pct: row %s %v", id, row)
				}
			}
			err := s.plugins.DatasetCreate(ctx, "p-none", &plugin.Dataset{Key: "initial", Seed: "s", Now: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
				Goal: purchase, Moment: &plugin.Moment{Type: plugin.MomentPercentile, Percent: 90}})
			if !errors.Is(err, plugin.ErrNoConversions) || !strings.Contains(err.Error(), "90% percentile moment of goal eshop/purchase/1-0-0") {
				t.Errorf("percentile without conversions: %v", err)
			}
			if _, err := s.plugins.DatasetGet(ctx, "p-none", "initial"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a failed dataset is stored: %v", err)
			}
			// The same dataset asked for by several requests at once: one
			// is made, none fails.
			errs := make(chan error, 4)
			for range 4 {
				go func() {
					errs <- s.plugins.DatasetCreate(ctx, "p-concurrent", &plugin.Dataset{Key: "initial", Seed: "s", Now: now})
				}()
			}
			for range 4 {
				if err := <-errs; err != nil {
					t.Errorf("concurrent creation: %v", err)
				}
			}
			// The attribute goal at data_now: X's revenue on 01-04 16:00
			// was 120.50, though it is 200 now.
			for _, c := range []struct {
				now  time.Time
				want string
			}{{time.Date(2024, 1, 4, 16, 0, 0, 0, time.UTC), "false"}, {now, "true"}} {
				run := "goal-" + c.now.Format("0102")
				g := plugin.Goal{Attribute: "eshop_revenue_sum", DataType: attr.DataFloat, Op: ">=", Value: 200.0}
				if err := s.plugins.DatasetCreate(ctx, run, &plugin.Dataset{Key: "initial", Seed: "s", Now: c.now, Goal: &g, Attributes: defs}); err != nil {
					t.Fatal(err)
				}
				var body datasetBody
				r := fetch(t, "GET", s.plugins.URL(plugin.KindData, run, "initial", time.Hour), nil)
				if err := json.Unmarshal(r.body, &body); err != nil || len(body.Data) != 3 {
					t.Fatalf("%s: %s", run, r.body)
				}
				for _, row := range body.Data {
					if want := map[bool]string{true: c.want, false: "false"}[row[0] == x]; row[3] != want {
						t.Errorf("%s: row %v, want y_value %s", run, row, want)
					}
				}
			}
		})
	}
}
