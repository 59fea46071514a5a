package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/client"
	"github.com/weftdata/weft/internal/demo"
)

// rfmDemoCustomers is the size of the demo data the RFM test runs on.
const rfmDemoCustomers = 1500

// buyer is a demo customer's purchases as the generator made them.
type buyer struct {
	customer demo.Customer
	orders   int
	spend    float64
	last     time.Time
}

// demoBuyers reads the purchases of the demo data from the generator's
// ground truth, without Weft: who bought, how often, how much, how lately.
func demoBuyers(t *testing.T, opts demo.Options) []buyer {
	t.Helper()
	by := map[int]*buyer{}
	for e := range demo.Events(opts) {
		if e.SourceID != "shop" || e.Type != "purchase" {
			continue
		}
		var p struct {
			Total float64 `json:"total"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		b := by[e.Customer]
		if b == nil {
			b = &buyer{customer: demo.CustomerAt(opts, e.Customer)}
			by[e.Customer] = b
		}
		b.orders++
		b.spend += p.Total
		if e.EventTime.After(b.last) {
			b.last = e.EventTime
		}
	}
	out := make([]buyer, 0, len(by))
	for _, b := range by {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b buyer) int { return a.customer.Index - b.customer.Index })
	return out
}

// atLeastShare is the value of key that a share of the buyers reach or
// beat (share 0.1: the top tenth's threshold).
func atLeastShare[V int | float64 | int64](bs []buyer, key func(buyer) V, share float64) V {
	vs := make([]V, len(bs))
	for i, b := range bs {
		vs[i] = key(b)
	}
	slices.Sort(vs)
	return vs[min(len(vs)-1, int(float64(len(vs))*(1-share)))]
}

// TestRFMDemoSegments runs the example RFM plugin on the demo data, as
// the docs set it up (last_purchase_date, orders, total_spend), through
// the real server, pipeline and plugin process on both backends, and
// checks the segments against what the generator's own data says: the
// customers among the most recent, most frequent and biggest buyers are
// Champions, those who bought once long ago have the lowest recency
// score. The orders feature (a custom attribute counting purchases) must
// reach the plugin as a number: as a one-element array the plugin read it
// as missing and called the best customers "Potential loyalists".
func TestRFMDemoSegments(t *testing.T) {
	plugins := pythonPlugin(t, "rfm", "../../examples/plugins/rfm/main.py") +
		"    features: [{attribute: last_purchase_date}, {attribute: orders}, {attribute: total_spend}]\n" +
		"    variables: [{name: max_batch_size, default: 1000}]\n"
	buyers := demoBuyers(t, demo.Options{Customers: rfmDemoCustomers, Seed: 21})
	// Trap customers (a shared email, a shared kiosk cookie) may share an
	// entity with others: their entity's purchases are not their own.
	plain := slices.DeleteFunc(slices.Clone(buyers), func(b buyer) bool {
		return b.customer.Household || b.customer.Kiosk != "" || b.customer.Email == ""
	})
	orders := atLeastShare(buyers, func(b buyer) int { return b.orders }, 0.1)
	spend := atLeastShare(buyers, func(b buyer) float64 { return b.spend }, 0.1)
	recent := atLeastShare(buyers, func(b buyer) int64 { return b.last.UnixMicro() }, 0.1)
	oldest := atLeastShare(buyers, func(b buyer) int64 { return -b.last.UnixMicro() }, 0.1)
	var champions, lapsed []buyer
	for _, b := range plain {
		switch {
		case b.orders >= orders && b.spend >= spend && b.last.UnixMicro() >= recent:
			champions = append(champions, b)
		case b.orders == 1 && -b.last.UnixMicro() >= oldest:
			lapsed = append(lapsed, b)
		}
	}
	t.Logf("%d clear champions, %d lapsed buyers of %d buyers", len(champions), len(lapsed), len(buyers))
	if len(champions) == 0 || len(lapsed) == 0 {
		t.Fatalf("the demo data has %d clear champions and %d lapsed buyers: pick other thresholds", len(champions), len(lapsed))
	}

	for _, backend := range []string{"duckdb", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			_, base, srv := pluginServer(t, backend, rfmDemoCustomers, plugins)
			ctx := context.Background()
			c := client.New(base, "")
			checkScalarOrders(t, c)

			code, out := runCLI(t, 5*time.Minute, "plugins", "run", "rfm", "--wait", "--server", base)
			if code != 0 || !strings.Contains(out, "COMPLETE (succeeded)") {
				t.Fatalf("plugins run rfm:\n%s", out)
			}
			checkStderrLogged(t, base, strings.SplitN(out, "\n", 2)[0], srv)
			check := func(b buyer, want func(segment string, r, f, m float64) bool, what string) {
				t.Helper()
				e, err := c.EntityByIdentifier(ctx, "email", b.customer.Email)
				if err != nil {
					t.Fatalf("customer %d (%s): %v", b.customer.Index, b.customer.Email, err)
				}
				if got, _ := e.Attributes["orders"].(float64); int(got) != b.orders {
					t.Fatalf("customer %d: entity %s has orders %v, the generator made %d", b.customer.Index, e.ID, e.Attributes["orders"], b.orders)
				}
				props := map[string]any{}
				for id, raw := range e.Properties {
					if name, ok := strings.CutPrefix(id, "rfm/"); ok {
						var v any
						if err := json.Unmarshal(raw, &v); err != nil {
							t.Fatal(err)
						}
						props[name[strings.LastIndexByte(name, '/')+1:]] = v
					}
				}
				seg, _ := props["rfm_segment"].(string)
				r, _ := props["recency_score"].(float64)
				f, _ := props["frequency_score"].(float64)
				m, _ := props["monetary_score"].(float64)
				if !want(seg, r, f, m) {
					t.Errorf("customer %d (%d orders, %.2f spent, last %s) should be %s: entity %s has %v",
						b.customer.Index, b.orders, b.spend, b.last.Format(time.DateOnly), what, e.ID, props)
				}
			}
			for _, b := range champions {
				check(b, func(seg string, r, f, m float64) bool {
					return seg == "Champions" && r == 5 && f >= 4 && m == 5
				}, "Champions (R 5, F 4 or 5, M 5)")
			}
			for _, b := range lapsed {
				check(b, func(seg string, r, f, m float64) bool {
					return r == 1 && (seg == "Hibernating" || seg == "At risk" || seg == "Can't lose them")
				}, "a lapsed segment with R 1")
			}
		})
	}
}

// checkScalarOrders reads the plugin's initial dataset and checks that
// feature_orders, a custom attribute of one count per customer, holds
// numbers, not one-element arrays.
func checkScalarOrders(t *testing.T, c *client.Client) {
	t.Helper()
	raw, err := c.PluginManifest(context.Background(), "rfm", "initial", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		DataURLs map[string]string `json:"dataUrls"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.DataURLs["initial"] == "" {
		t.Fatalf("manifest %s: %v", raw, err)
	}
	code, body := httpGet(t, m.DataURLs["initial"])
	if code != 200 {
		t.Fatalf("GET the initial dataset: %d %.300s", code, body)
	}
	var ds struct {
		Metadata struct {
			Columns []string `json:"columns"`
		} `json:"metadata"`
		Data [][]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &ds); err != nil {
		t.Fatal(err)
	}
	col := slices.Index(ds.Metadata.Columns, "feature_orders")
	if col < 0 || len(ds.Data) == 0 {
		t.Fatalf("dataset columns %v, %d rows", ds.Metadata.Columns, len(ds.Data))
	}
	numbers := 0
	for _, row := range ds.Data {
		switch v := row[col].(type) {
		case float64:
			numbers++
		case nil:
		default:
			t.Fatalf("feature_orders is %s, want a number (row %v)", fmt.Sprint(v), row[:1])
		}
	}
	if numbers == 0 {
		t.Fatal("no row has a number in feature_orders")
	}
}

// checkStderrLogged: the plugin's stderr (its own log) is in the run's
// log at INFO with the plugin's name and stream=stderr, and not in the
// server's log, which runs at --log-level warn.
func checkStderrLogged(t *testing.T, base, run string, srv *proc) {
	t.Helper()
	code, out := runCLI(t, 30*time.Second, "plugins", "logs", run, "--server", base)
	if code != 0 {
		t.Fatalf("plugins logs %s: %s", run, out)
	}
	found := false
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "stream=stderr") {
			continue
		}
		if !strings.Contains(line, " INFO ") || !strings.Contains(line, "plugin=rfm") {
			t.Errorf("plugin stderr logged as %q, want INFO with plugin=rfm", line)
		}
		found = found || strings.Contains(line, "rfm: read ")
	}
	if !found {
		t.Errorf("the plugin's stderr line \"rfm: read ...\" is not in the run's log:\n%s", out)
	}
	if strings.Contains(srv.stderr.String(), "rfm: read ") {
		t.Errorf("the plugin's stderr reached the server's warn log:\n%s", srv.stderr.String())
	}
}
