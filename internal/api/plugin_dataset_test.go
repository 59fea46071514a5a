package api_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/worked"
)

// workedProfiles loads the spec's worked example and calculates its
// attributes: three entities, X (Jane, two purchases), Y and Z. e7, which
// links Jane's two cookies, comes in a second stitching pass, so X is the
// survivor of a merge.
func (s *pluginServer) workedProfiles(t *testing.T) {
	t.Helper()
	if r := s.do(t, "PUT", "/v1/config", nil, []byte(worked.Config)); r.status != 200 {
		t.Fatalf("apply: %s", r.body)
	}
	for _, events := range [][]string{append(append([]string{}, worked.Events[:6]...), worked.Events[7:]...), worked.Events[6:7]} {
		if r := s.do(t, "POST", "/v1/events", nil, []byte(strings.Join(events, "\n"))); r.status != 200 {
			t.Fatalf("ingest: %s", r.body)
		}
		s.do(t, "POST", "/v1/stitching/run", nil, nil)
	}
	if r := s.do(t, "POST", "/v1/attributes/run", nil, []byte(`{}`)); r.status != 200 {
		t.Fatalf("attributes: %s", r.body)
	}
}

func (s *pluginServer) entityByEmail(t *testing.T, email string) string {
	t.Helper()
	return decode[struct{ ID string }](t, s.do(t, "GET", "/v1/entities?identifier=stitching_email:"+email, nil, nil)).ID
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
			s := newPluginServer(t, backend, plugin.Options{})
			s.workedProfiles(t)
			x := s.entityByEmail(t, "jane@example.com")
			ctx := context.Background()
			now := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
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
