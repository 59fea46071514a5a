// Package likelihood is the conversion-likelihood example plugin (see the
// command in the parent directory, which only calls Main); weft embeds it
// for weft quickstart as weft example-plugin conversion-likelihood.
//
// It is Weft's example intelligence plugin in Go
// (the seed's batch updating example): it predicts how likely each user is to
// reach the plugin's binary goal and writes that 0.0–1.0 likelihood onto
// every user as a property.
//
//	conversion-likelihood manifest.json results.json
//	conversion-likelihood serve [--port N]    (the deploy stage's server)
//
// Stages (specs/stormly.md):
//   - initial: read dataUrls.initial, train a logistic regression on the
//     features against y_value (an 80/20 split on the dataset's random
//     column), upload model.json into this stage's storage, and write
//     results.json with a summary, score (the AUC) and batches.
//   - batch: download model.json, score every user of the batch's data URL
//     and upload data.json (category, properties, updates) through
//     getUploadUrls.batch; results.json holds only the status.
//   - deploy: the initial results' http object makes the plugin deployable;
//     its startServerCmd runs this program with serve, which downloads
//     model.json and answers POST /predict (a user's feature values) with
//     the score, and POST /status_check with 200.
//
// Any failure writes results.json with status.code "error", a title and an
// explanation, and exits 1. It uses the standard library only.
package likelihood

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	pluginName      = "conversion-likelihood"
	defaultProperty = "conversion_likelihood"
	defaultCategory = "Conversion likelihood"
	modelPath       = "model.json"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, pluginName+": "+format+"\n", args...)
}

// Main runs one stage, argv being [program, manifest.json, results.json],
// and returns the exit code.
func Main(args []string) int {
	if len(args) >= 2 && args[1] == "serve" {
		return serve(args[2:])
	}
	if len(args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s manifest.json results.json\n", args[0])
		return 2
	}
	return run(args[1], args[2])
}

// stageError carries the status title for results.json.
type stageError struct {
	title string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func fail(title string, err error) error { return &stageError{title, err} }

// run executes one stage and returns the exit code; results.json is written
// in every case it can be.
func run(manifestPath, resultsPath string) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results any
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fail("Plugin crashed", fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
			}
		}()
		m, err := readManifest(manifestPath)
		if err != nil {
			return fail("Invalid manifest", err)
		}
		switch m.Stage {
		case "initial":
			results, err = initial(ctx, m)
		case "batch":
			results, err = batch(ctx, m)
		default:
			err = fail("Unsupported stage", fmt.Errorf("stage %q: this plugin has only the initial and batch stages", m.Stage))
		}
		return err
	}()
	if err != nil {
		title := "Conversion likelihood failed"
		if se, ok := err.(*stageError); ok {
			title = se.title
		}
		logf("%s: %v", title, err)
		if werr := writeJSON(resultsPath, map[string]any{"status": errorStatus(title, err)}); werr != nil {
			logf("writing %s: %v", resultsPath, werr)
		}
		return 1
	}
	if err := writeJSON(resultsPath, results); err != nil {
		logf("writing %s: %v", resultsPath, err)
		return 1
	}
	return 0
}

// param reads a numeric inputParam (always a float in the manifest).
func param(m *Manifest, name string, def float64) float64 {
	switch v := m.InputParams[name].(type) {
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

// label reads y_value: "true"/"false" as the spec has it, and booleans or
// 0/1 leniently.
func label(v any) (float64, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		if x == 0 || x == 1 {
			return x, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1":
			return 1, nil
		case "false", "0", "":
			return 0, nil
		}
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("unreadable y_value %v", v)
}

func rowNow(c *Columns, row []any) time.Time {
	if s, ok := c.Get(row, "data_now").(string); ok {
		if t, ok := parseTime(s); ok {
			return t
		}
	}
	return time.Time{}
}

// featureColumns are the dataset's feature columns: the keys of
// metadata.features that the dataset has, or, without metadata, every
// column that is not a fixed one.
func featureColumns(m *Manifest, c *Columns) []string {
	var cols []string
	if len(m.Metadata.Features) > 0 {
		for k := range m.Metadata.Features {
			if c.Has(k) && !fixedColumns[k] {
				cols = append(cols, k)
			} else if !c.Has(k) {
				logf("feature %s is in the manifest but not in the dataset; skipped", k)
			}
		}
	} else {
		for _, k := range c.Names {
			if !fixedColumns[k] {
				cols = append(cols, k)
			}
		}
	}
	sort.Strings(cols)
	return cols
}

func initial(ctx context.Context, m *Manifest) (any, error) {
	if g := strings.TrimSpace(string(m.Metadata.Goal)); g == "null" {
		return nil, fail("No goal", fmt.Errorf("this plugin predicts a binary goal; run it with one (metadata.goal is null)"))
	}
	key, u, err := m.dataURL("initial")
	if err != nil {
		return nil, fail("No dataset", err)
	}
	// Large datasets: train on a sample taken with the range parameters.
	maxUsers := param(m, "max_training_users", 100000)
	if full := m.Metadata.Datasets[key].FullDatasetSize; maxUsers >= 1000 && float64(full) > maxUsers {
		frac := maxUsers / float64(full)
		if u, err = withRange(u, 0, frac); err != nil {
			return nil, fail("Invalid dataset URL", err)
		}
		logf("sampling about %.0f of %d users (random < %.4f)", maxUsers, full, frac)
	}

	var (
		rows    []Row
		ys      []float64
		holdout []bool
		feats   []string
		n       int
	)
	cols, err := readDataset(ctx, u, func(c *Columns, row []any) error {
		if feats == nil {
			if !c.Has("y_value") {
				return fail("No goal in the dataset", fmt.Errorf("the dataset has no y_value column"))
			}
			feats = featureColumns(m, c)
			if len(feats) == 0 {
				return fail("No features", fmt.Errorf("the dataset has no feature columns (columns: %s)", strings.Join(c.Names, ", ")))
			}
		}
		y, err := label(c.Get(row, "y_value"))
		if err != nil {
			return fail("Invalid dataset", fmt.Errorf("row %d: %w", n, err))
		}
		vals := make([]any, len(feats))
		for j, f := range feats {
			vals[j] = c.Get(row, f)
		}
		rows = append(rows, Row{Values: vals, Now: rowNow(c, row)})
		ys = append(ys, y)
		r, ok := c.Get(row, "random").(float64)
		if !ok {
			r = float64(n%5) / 5 // no random column: every fifth user
		}
		holdout = append(holdout, r >= 0.8)
		n++
		return nil
	})
	if err != nil {
		if _, ok := err.(*stageError); ok {
			return nil, err
		}
		return nil, fail("Could not read the dataset", err)
	}
	if feats == nil {
		feats = featureColumns(m, cols)
	}
	logf("read %d users with %d feature columns from dataset %s", len(rows), len(feats), key)
	if len(rows) < 10 {
		return nil, fail("Not enough users", fmt.Errorf("the dataset has %d users; at least 10 are needed to train", len(rows)))
	}

	var trainRows, testRows []Row
	var trainY, testY []float64
	for i := range rows {
		if holdout[i] {
			testRows, testY = append(testRows, rows[i]), append(testY, ys[i])
		} else {
			trainRows, trainY = append(trainRows, rows[i]), append(trainY, ys[i])
		}
	}
	pos := 0.0
	for _, y := range trainY {
		pos += y
	}
	if pos == 0 || pos == float64(len(trainY)) {
		what := "none of"
		if pos > 0 {
			what = "all"
		}
		return nil, fail("Goal has one outcome", fmt.Errorf("%s the %d training users reached the goal; a likelihood needs users of both outcomes", what, len(trainY)))
	}

	names := map[string]string{}
	for k, f := range m.Metadata.Features {
		names[k] = f.Name
	}
	inputs := DesignInputs(feats, names, trainRows)
	if len(inputs) == 0 {
		return nil, fail("No usable features", fmt.Errorf("every feature is empty or constant over the %d training users", len(trainRows)))
	}
	cfg := DefaultTrainConfig
	cfg.LearningRate = param(m, "learning_rate", cfg.LearningRate)
	cfg.L2 = param(m, "l2", cfg.L2)
	cfg.Iterations = int(param(m, "iterations", float64(cfg.Iterations)))
	start := time.Now()
	w, b, err := Train(Matrix(inputs, trainRows), trainY, cfg)
	if err != nil {
		return nil, fail("Training failed", err)
	}
	model := &Model{Version: 1, Inputs: inputs, Weights: w, Bias: b, TrainedAt: time.Now().UTC().Format(time.RFC3339)}
	logf("trained on %d users, %d inputs in %s", len(trainRows), len(inputs), time.Since(start).Round(time.Millisecond))

	// Evaluate on the holdout when it has both outcomes, else on training.
	evalRows, evalY, on := testRows, testY, "holdout"
	if len(testRows) < 20 || !bothClasses(testY) {
		evalRows, evalY, on = trainRows, trainY, "training"
	}
	scores := make([]float64, len(evalRows))
	for i, r := range evalRows {
		scores[i] = model.Score(r)
	}
	auc, _ := AUC(scores, evalY)
	acc, ll := Accuracy(scores, evalY)
	model.Metrics = &Metrics{TrainUsers: len(trainRows), HoldoutUsers: len(testRows), PositiveRate: pos / float64(len(trainY)),
		AUC: auc, Accuracy: acc, LogLoss: ll, EvaluatedOn: on}

	mb, err := json.MarshalIndent(model, "", " ")
	if err != nil {
		return nil, fail("Saving the model failed", err)
	}
	if err := os.WriteFile(modelPath, mb, 0o644); err != nil { // a local copy in the working directory
		return nil, fail("Saving the model failed", err)
	}
	if err := uploadFile(ctx, m, modelPath); err != nil {
		return nil, fail("Uploading the model failed", err)
	}

	top := topInputs(model, 5)
	summary := fmt.Sprintf("Trained on %d users (%.1f%% reached the goal) with %d inputs from %d features. "+
		"AUC %.3f, accuracy %.1f%% on %d %s users.",
		len(trainRows), 100*model.Metrics.PositiveRate, len(inputs), len(feats), auc, 100*acc, len(evalRows), on)
	if len(top) > 0 {
		var parts []string
		for _, t := range top {
			parts = append(parts, fmt.Sprintf("%s %+.2f", t["feature"], t["weight"]))
		}
		summary += " Strongest signals: " + strings.Join(parts, ", ") + "."
	}
	deploy, err := httpResults(m.Stage)
	if err != nil {
		return nil, fail("No server command", err)
	}
	batchSize := param(m, "max_batch_size", 10000)
	batchSize = math.Min(math.Max(batchSize, 1000), 10000000) // the accepted range (spec §9.1)
	return map[string]any{
		"data": map[string]any{
			"summary":      summary,
			"auc":          round(auc, 4),
			"accuracy":     round(acc, 4),
			"logLoss":      round(ll, 4),
			"evaluatedOn":  on,
			"trainUsers":   len(trainRows),
			"holdoutUsers": len(testRows),
			"positiveRate": round(model.Metrics.PositiveRate, 4),
			"topFeatures":  top,
			"property":     defaultProperty,
		},
		"status": successStatus,
		"score":  round(auc, 6),
		"jsx":    "<Insight><p>{results.data.summary}</p></Insight>",
		"http":   deploy,
		"batches": map[string]any{
			"maxBatchSize": int(batchSize),
			"options": map[string]any{
				"model":    map[string]any{"stage": m.Stage, "path": modelPath},
				"property": defaultProperty,
				"category": defaultCategory,
			},
		},
	}, nil
}

func bothClasses(y []float64) bool {
	var pos float64
	for _, v := range y {
		pos += v
	}
	return pos > 0 && pos < float64(len(y))
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// topInputs are the inputs with the largest absolute weights.
func topInputs(m *Model, k int) []map[string]any {
	idx := make([]int, len(m.Weights))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return math.Abs(m.Weights[idx[a]]) > math.Abs(m.Weights[idx[b]]) })
	var out []map[string]any
	for _, i := range idx[:min(k, len(idx))] {
		in := m.Inputs[i]
		name := in.Name
		if name == "" {
			name = in.Column
		}
		switch in.Kind {
		case kindLevel:
			name += " = " + in.Level
		case kindMissing:
			name += " is missing"
		}
		out = append(out, map[string]any{"feature": name, "column": in.Column, "weight": round(m.Weights[i], 4)})
	}
	return out
}

// optString reads a string from the batch options.
func optString(o map[string]any, key, def string) string {
	if s, ok := o[key].(string); ok && s != "" {
		return s
	}
	return def
}

func batch(ctx context.Context, m *Manifest) (any, error) {
	stage, path := "initial", modelPath
	if mo, ok := m.Options["model"].(map[string]any); ok {
		stage, path = optString(mo, "stage", stage), optString(mo, "path", path)
	}
	property := optString(m.Options, "property", defaultProperty)
	category := optString(m.Options, "category", defaultCategory)

	mb, err := download(ctx, m, stage, path, 256<<20)
	if err != nil {
		return nil, fail("Could not download the model", err)
	}
	var model Model
	if err := json.Unmarshal(mb, &model); err != nil {
		return nil, fail("Invalid model", fmt.Errorf("%s from stage %s: %w", path, stage, err))
	}
	if len(model.Inputs) == 0 || len(model.Weights) != len(model.Inputs) {
		return nil, fail("Invalid model", fmt.Errorf("%s has %d inputs and %d weights", path, len(model.Inputs), len(model.Weights)))
	}
	for _, in := range model.Inputs {
		if !(in.Std > 0) {
			return nil, fail("Invalid model", fmt.Errorf("input %s has scale %v", in.Column, in.Std))
		}
	}
	needed := model.Columns()
	model.Bind(needed) // Row.Values below follow needed
	key, u, err := m.dataURL("batch")
	if err != nil {
		return nil, fail("No dataset", err)
	}

	// data.json is written as the rows stream in, so a batch of millions
	// of users needs no more memory than one row.
	out, err := newUpdatesWriter("data.json", category, []string{property})
	if err != nil {
		return nil, fail("Writing data.json failed", err)
	}
	defer out.abort()
	n := 0
	_, err = readDataset(ctx, u, func(c *Columns, row []any) error {
		if n == 0 {
			if !c.Has("user_id") {
				return fail("Invalid dataset", fmt.Errorf("the dataset has no user_id column"))
			}
			for _, col := range needed {
				if !c.Has(col) {
					logf("the batch dataset lacks feature %s; scoring it as missing", col)
				}
			}
		}
		id := userID(c.Get(row, "user_id"))
		if id == "" {
			return fail("Invalid dataset", fmt.Errorf("row %d has no user_id", n))
		}
		vals := make([]any, len(needed))
		for j, col := range needed {
			vals[j] = c.Get(row, col)
		}
		n++
		return out.add(id, round(model.Score(Row{Values: vals, Now: rowNow(c, row)}), 6))
	})
	if err != nil {
		if _, ok := err.(*stageError); ok {
			return nil, err
		}
		return nil, fail("Could not read the batch dataset", err)
	}
	if err := out.close(); err != nil {
		return nil, fail("Writing data.json failed", err)
	}
	logf("scored %d users of dataset %s", n, key)
	if err := uploadFile(ctx, m, "data.json"); err != nil {
		return nil, fail("Uploading data.json failed", err)
	}
	return map[string]any{"status": successStatus}, nil
}

// userID renders a user_id value as text.
func userID(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
