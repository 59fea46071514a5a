package likelihood

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The model is self-describing JSON: how to turn a dataset row into the
// input vector (column, encoding, standardization) and the weights. The
// batch stage needs nothing else to score.

// Encodings of one input of the model.
const (
	kindNumber  = "number"  // the value as a number (bools 0/1, dates as days before data_now, lists by length)
	kindLevel   = "level"   // 1 if the value equals Level, else 0 (one-hot of a text column)
	kindMissing = "missing" // 1 if the value is null or empty, else 0
)

// Input is one input of the model.
type Input struct {
	Column string  `json:"column"`
	Name   string  `json:"name,omitempty"` // readable feature name from manifest metadata
	Kind   string  `json:"kind"`
	Level  string  `json:"level,omitempty"`
	Mean   float64 `json:"mean"` // of the raw encoding over the training rows; also the fill for missing numbers
	Std    float64 `json:"std"`

	idx int // position of Column in Row.Values; -1 when the dataset lacks it
}

// Model is what the initial stage uploads as model.json.
type Model struct {
	Version   int       `json:"version"`
	Inputs    []Input   `json:"inputs"`
	Weights   []float64 `json:"weights"` // one per input, on standardized inputs
	Bias      float64   `json:"bias"`
	TrainedAt string    `json:"trainedAt,omitempty"`
	Metrics   *Metrics  `json:"metrics,omitempty"`
}

// Metrics describe the fit.
type Metrics struct {
	TrainUsers   int     `json:"trainUsers"`
	HoldoutUsers int     `json:"holdoutUsers"`
	PositiveRate float64 `json:"positiveRate"`
	AUC          float64 `json:"auc"`
	Accuracy     float64 `json:"accuracy"`
	LogLoss      float64 `json:"logLoss"`
	EvaluatedOn  string  `json:"evaluatedOn"` // "holdout" or "training" (too few holdout users of both classes)
}

// Row is one dataset row as the model sees it: the feature values in the
// order of the feature columns the inputs are bound to, and the reference
// time for date features (the row's data_now).
type Row struct {
	Values []any
	Now    time.Time
}

// value is the row's value for the input's column.
func (in *Input) value(r Row) any {
	if in.idx < 0 || in.idx >= len(r.Values) {
		return nil
	}
	return r.Values[in.idx]
}

// Bind points the model's inputs at the feature columns of a dataset (the
// order of Row.Values). It returns the columns the model needs that the
// dataset lacks; their values count as missing.
func (m *Model) Bind(columns []string) (absent []string) {
	pos := map[string]int{}
	for i, c := range columns {
		pos[c] = i
	}
	seen := map[string]bool{}
	for i := range m.Inputs {
		in := &m.Inputs[i]
		j, ok := pos[in.Column]
		if !ok {
			j = -1
			if !seen[in.Column] {
				absent = append(absent, in.Column)
			}
		}
		seen[in.Column] = true
		in.idx = j
	}
	return absent
}

// Columns are the dataset columns the model reads.
func (m *Model) Columns() []string {
	var cols []string
	seen := map[string]bool{}
	for _, in := range m.Inputs {
		if !seen[in.Column] {
			seen[in.Column] = true
			cols = append(cols, in.Column)
		}
	}
	return cols
}

// rawValue turns a JSON value into a number: ok is false for null, empty
// and text that is neither a number, a boolean nor a date.
func rawValue(v any, now time.Time) (f float64, ok bool) {
	switch x := v.(type) {
	case nil:
		return 0, false
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		f, err := x.Float64()
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case []any:
		return float64(len(x)), true
	case string:
		s := strings.TrimSpace(x)
		switch strings.ToLower(s) {
		case "":
			return 0, false
		case "true":
			return 1, true
		case "false":
			return 0, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
		if t, ok := parseTime(s); ok {
			if now.IsZero() {
				return float64(t.Unix()) / 86400, true
			}
			return now.Sub(t).Hours() / 24, true // age in days
		}
	}
	return 0, false
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// isMissing reports a null or empty value.
func isMissing(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

// textOf is the category of a text value.
func textOf(v any) string {
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// raw is the unstandardized value of input in for a row.
func (in *Input) raw(r Row) float64 {
	v := in.value(r)
	switch in.Kind {
	case kindMissing:
		if isMissing(v) {
			return 1
		}
		return 0
	case kindLevel:
		if !isMissing(v) && textOf(v) == in.Level {
			return 1
		}
		return 0
	default:
		if f, ok := rawValue(v, r.Now); ok {
			return f
		}
		return in.Mean // missing or unreadable: the training mean (0 after standardizing)
	}
}

// maxLevels caps the one-hot levels of a text column (the most frequent
// ones; rarer values encode as all zeros).
const maxLevels = 10

// DesignInputs chooses the model inputs from the training rows: a column
// whose present values are all numbers (or booleans, dates, lists) becomes
// one number input; a column with other text becomes one-hot levels of its
// most frequent values; a column with some missing values also gets a
// missing indicator. Constant inputs are dropped. Row.Values follow
// columns; names maps columns to readable names.
func DesignInputs(columns []string, names map[string]string, rows []Row) []Input {
	var inputs []Input
	for ci, col := range columns {
		present, text := 0, 0
		levels := map[string]int{}
		for _, r := range rows {
			v := r.Values[ci]
			if isMissing(v) {
				continue
			}
			present++
			if _, ok := rawValue(v, r.Now); !ok {
				text++
			}
			levels[textOf(v)]++
		}
		if present == 0 {
			continue
		}
		var cands []Input
		if text == 0 {
			cands = append(cands, Input{Column: col, Kind: kindNumber})
		} else {
			keys := make([]string, 0, len(levels))
			for k := range levels {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				if levels[keys[i]] != levels[keys[j]] {
					return levels[keys[i]] > levels[keys[j]]
				}
				return keys[i] < keys[j]
			})
			for i, k := range keys {
				if i == maxLevels {
					break
				}
				cands = append(cands, Input{Column: col, Kind: kindLevel, Level: k})
			}
		}
		if present < len(rows) {
			cands = append(cands, Input{Column: col, Kind: kindMissing})
		}
		for _, in := range cands {
			in.Name = names[col]
			in.idx = ci
			if in.Kind == kindNumber {
				// The fill for missing values is the mean of the present ones.
				var sum float64
				n := 0
				for _, r := range rows {
					if f, ok := rawValue(r.Values[ci], r.Now); ok {
						sum += f
						n++
					}
				}
				in.Mean = sum / float64(n)
			}
			mean, std := meanStd(rows, &in)
			if std < 1e-12 {
				continue // constant: carries no signal
			}
			in.Mean, in.Std = mean, std
			inputs = append(inputs, in)
		}
	}
	return inputs
}

func meanStd(rows []Row, in *Input) (float64, float64) {
	var sum, sq float64
	for _, r := range rows {
		x := in.raw(r)
		sum += x
		sq += x * x
	}
	n := float64(len(rows))
	mean := sum / n
	v := sq/n - mean*mean
	if v < 0 {
		v = 0
	}
	return mean, math.Sqrt(v)
}

// Matrix encodes rows as standardized input vectors, row-major.
func Matrix(inputs []Input, rows []Row) [][]float64 {
	x := make([][]float64, len(rows))
	for i, r := range rows {
		x[i] = Vector(inputs, r)
	}
	return x
}

// Vector encodes one row.
func Vector(inputs []Input, r Row) []float64 {
	v := make([]float64, len(inputs))
	for j := range inputs {
		in := &inputs[j]
		v[j] = (in.raw(r) - in.Mean) / in.Std
	}
	return v
}

// TrainConfig are the gradient descent settings.
type TrainConfig struct {
	LearningRate float64 // step size on standardized inputs
	L2           float64 // penalty on the weights (not the bias)
	Iterations   int     // maximum full-batch steps
	Tolerance    float64 // stop when the loss improves by less than this
}

// DefaultTrainConfig works well on standardized inputs.
var DefaultTrainConfig = TrainConfig{LearningRate: 0.5, L2: 0.001, Iterations: 500, Tolerance: 1e-7}

// Sigmoid is the logistic function, safe for large |z|.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Train fits a logistic regression by full-batch gradient descent on the
// mean log loss plus L2/2·|w|². x holds standardized inputs, y is 0 or 1.
func Train(x [][]float64, y []float64, cfg TrainConfig) (w []float64, b float64, err error) {
	n := len(x)
	if n == 0 || n != len(y) {
		return nil, 0, fmt.Errorf("training needs rows with labels (have %d rows, %d labels)", n, len(y))
	}
	d := len(x[0])
	w = make([]float64, d)
	pos := 0.0
	for _, v := range y {
		pos += v
	}
	if pos == 0 || pos == float64(n) {
		return nil, 0, errors.New("the goal has a single class in the training rows")
	}
	b = math.Log(pos / (float64(n) - pos)) // start at the base rate
	gw := make([]float64, d)
	prev := math.Inf(1)
	for it := 0; it < cfg.Iterations; it++ {
		for j := range gw {
			gw[j] = 0
		}
		var gb, loss float64
		for i, xi := range x {
			z := b
			for j, v := range xi {
				z += w[j] * v
			}
			p := Sigmoid(z)
			loss += logLoss(p, y[i])
			g := p - y[i]
			gb += g
			for j, v := range xi {
				gw[j] += g * v
			}
		}
		nf := float64(n)
		reg := 0.0
		for j := range w {
			reg += w[j] * w[j]
		}
		loss = loss/nf + cfg.L2/2*reg
		for j := range w {
			w[j] -= cfg.LearningRate * (gw[j]/nf + cfg.L2*w[j])
		}
		b -= cfg.LearningRate * gb / nf
		if prev-loss < cfg.Tolerance && it > 0 {
			break
		}
		prev = loss
	}
	return w, b, nil
}

func logLoss(p, y float64) float64 {
	const eps = 1e-15
	p = math.Min(math.Max(p, eps), 1-eps)
	return -(y*math.Log(p) + (1-y)*math.Log(1-p))
}

// Predict is the probability for one standardized input vector.
func Predict(w []float64, b float64, x []float64) float64 {
	z := b
	for j, v := range x {
		z += w[j] * v
	}
	return Sigmoid(z)
}

// Score is the model's 0.0–1.0 likelihood for a dataset row.
func (m *Model) Score(r Row) float64 {
	return Predict(m.Weights, m.Bias, Vector(m.Inputs, r))
}

// AUC is the area under the ROC curve: the probability that a random
// positive scores above a random negative, ties counting half (the
// Mann–Whitney statistic with average ranks). ok is false without both
// classes.
func AUC(scores, y []float64) (auc float64, ok bool) {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSumPos, pos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSumPos += avg
				pos++
			}
		}
		i = j
	}
	neg := float64(len(scores)) - pos
	if pos == 0 || neg == 0 {
		return 0, false
	}
	return (rankSumPos - pos*(pos+1)/2) / (pos * neg), true
}

// Accuracy at threshold 0.5, and the mean log loss.
func Accuracy(scores, y []float64) (acc, loss float64) {
	if len(scores) == 0 {
		return 0, 0
	}
	var right float64
	for i, p := range scores {
		if (p >= 0.5) == (y[i] == 1) {
			right++
		}
		loss += logLoss(p, y[i])
	}
	n := float64(len(scores))
	return right / n, loss / n
}
