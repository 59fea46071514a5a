package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store"
)

// PluginOpts size the plugin benchmark.
type PluginOpts struct {
	// DB must be a fresh store: Users entities bench-<i> are added to it.
	DB *store.DB
	// Users is the number of customers (default 1,000,000).
	Users int
	// BatchSize is the users of one data.json (default 100,000).
	BatchSize int
	Progress  func(string)
}

// PluginReport is what the plugin benchmark measured.
type PluginReport struct {
	Dialect string
	Users   int
	Batches int
	// Dataset is one full read of a dataset with two attribute features,
	// as GET dataUrls.initial streams it.
	Dataset time.Duration
	// Parse, Stage and Publish split the time of writing one property
	// for every user: data.json validated, staged per batch, published.
	Parse, Stage, Publish time.Duration
}

func (r *PluginReport) String() string {
	updates := r.Parse + r.Stage + r.Publish
	return fmt.Sprintf("plugin dataset on %s: %d rows (2 attribute features) in %.2f s, %.0f rows/s\n"+
		"plugin properties: %d updates in %d data.json batches validated (%.2f s), staged (%.2f s) and published (%.2f s): %.2f s, %.0f updates/s",
		r.Dialect, r.Users, r.Dataset.Seconds(), float64(r.Users)/r.Dataset.Seconds(),
		r.Users, r.Batches, r.Parse.Seconds(), r.Stage.Seconds(), r.Publish.Seconds(), updates.Seconds(), float64(r.Users)/updates.Seconds())
}

// Plugins times what a plugin run costs the platform: serving a dataset
// of every user, and validating, staging and publishing one property for
// every user (the targets: 200k rows/s, 1M updates in 10 s).
func Plugins(ctx context.Context, o PluginOpts) (*PluginReport, error) {
	if o.Users <= 0 {
		o.Users = 1_000_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100_000
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	rep := &PluginReport{Dialect: o.DB.Dialect(), Users: o.Users}
	o.Progress(fmt.Sprintf("adding %d customers with two attributes", o.Users))
	if err := fillPluginUsers(ctx, o.DB, o.Users); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "weft-bench-plugins-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	svc, err := plugin.Open(ctx, o.DB, plugin.Options{BaseURL: "http://127.0.0.1", StorageURL: "file://" + filepath.ToSlash(dir)})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	run := "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	d := &plugin.Dataset{Key: "initial", Seed: "bench", Now: time.Now(), Features: []plugin.Feature{
		{Column: "feature_orders", Attribute: "bench_orders", DataType: attr.DataInt},
		{Column: "feature_city", Attribute: "bench_city", DataType: attr.DataString},
	}}
	if err := svc.DatasetCreate(ctx, run, d); err != nil {
		return nil, err
	}
	o.Progress("serving the dataset")
	start := time.Now()
	rows, err := svc.WriteDataset(ctx, plugin.Token{Kind: plugin.KindData, Run: run, Scope: "initial"}, plugin.FullRange, io.Discard)
	if err != nil {
		return nil, err
	}
	rep.Dataset = time.Since(start)
	if rows < int64(o.Users) {
		return nil, fmt.Errorf("the dataset has %d rows, want at least %d", rows, o.Users)
	}
	o.Progress("validating, staging and publishing a property of every customer")
	var decls []plugin.PropertyDecl
	for first := 1; first <= o.Users; first += o.BatchSize {
		doc := batchDoc(first, min(first+o.BatchSize-1, o.Users))
		t0 := time.Now()
		data, err := plugin.ParseBatchData(bytes.NewReader(doc))
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		if _, err := svc.Stage(ctx, run, rep.Batches, data); err != nil {
			return nil, err
		}
		rep.Parse += t1.Sub(t0)
		rep.Stage += time.Since(t1)
		rep.Batches++
		decls = data.Properties
	}
	t2 := time.Now()
	res, err := svc.Publish(ctx, plugin.PublishParams{Plugin: "bench", Run: run, Started: time.Now(), Category: "Bench", Properties: decls})
	if err != nil {
		return nil, err
	}
	rep.Publish = time.Since(t2)
	for id, n := range res.Properties {
		if n != int64(o.Users) {
			return nil, fmt.Errorf("published %s on %d users, want %d", id, n, o.Users)
		}
	}
	return rep, nil
}

// batchDoc is a data.json of users bench-<first..last> with one number.
func batchDoc(first, last int) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"category": "Bench", "properties": ["score"], "updates": [`)
	for i := first; i <= last; i++ {
		if i > first {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `["bench-%d",%s]`, i, strconv.FormatFloat(float64(i%1000)/1000, 'g', -1, 64))
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

// fillPluginUsers adds n live entities bench-<i> with two attributes
// each, set-based.
func fillPluginUsers(ctx context.Context, db *store.DB, n int) error {
	for _, q := range []string{
		`INSERT INTO entities (id, created_seq, created_at, modified_at)
		 SELECT 'bench-' || CAST(i AS TEXT), i, TIMESTAMPTZ '2024-01-01 00:00:00+00', TIMESTAMPTZ '2024-01-01 00:00:00+00'
		 FROM generate_series(1, $1) AS g(i)`,
		`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at)
		 SELECT 'bench-' || CAST(i AS TEXT), 'bench_orders', CAST(i % 17 AS TEXT), TIMESTAMPTZ '2024-01-01 00:00:00+00'
		 FROM generate_series(1, $1) AS g(i)`,
		`INSERT INTO customer_attributes (entity_id, attribute_id, value, calculated_at)
		 SELECT 'bench-' || CAST(i AS TEXT), 'bench_city', 'city ' || CAST(i % 101 AS TEXT), TIMESTAMPTZ '2024-01-01 00:00:00+00'
		 FROM generate_series(1, $1) AS g(i)`,
	} {
		if _, err := db.ExecContext(ctx, q, n); err != nil {
			return fmt.Errorf("add bench customers: %w", err)
		}
	}
	return nil
}
