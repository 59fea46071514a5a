package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
)

// Status is results.json's status object.
type Status struct {
	Code        string  `json:"code"`
	Title       *string `json:"title"`
	Explanation *string `json:"explanation"`
	Backtrace   *string `json:"backtrace"`
}

// Batches is results.json's batches object, validated.
type Batches struct {
	MaxBatchSize int             `json:"maxBatchSize"`
	Options      json.RawMessage `json:"options,omitempty"`
}

// Results is a stage's results.json (the spec's §7), validated.
type Results struct {
	Data   json.RawMessage `json:"data"`
	Status Status          `json:"status"`
	// Stages are the additional stages the initial stage asks for.
	Stages  map[string]json.RawMessage `json:"stages,omitempty"`
	Batches *Batches                   `json:"batches,omitempty"`
	// HTTP is the results' http object (type-checked; merged across
	// stages by MergeHTTP), which makes the run deployable.
	HTTP json.RawMessage `json:"http,omitempty"`
	// Raw is the whole file: unknown keys are kept, not refused.
	Raw json.RawMessage `json:"-"`
}

// StageFailure is a stage that did not succeed, with the status shown to
// the user: the plugin's own, or one Weft made for a crash, a timeout or
// bad results.
type StageFailure struct {
	Stage  string
	Status Status
}

func (e *StageFailure) Error() string {
	msg := fmt.Sprintf("stage %s failed", e.Stage)
	if e.Status.Title != nil {
		msg += ": " + *e.Status.Title
	}
	if e.Status.Explanation != nil {
		msg += ": " + *e.Status.Explanation
	}
	return msg
}

func failure(stage, title, explanation, backtrace string) *StageFailure {
	st := Status{Code: "error", Title: &title, Explanation: &explanation}
	if backtrace != "" {
		st.Backtrace = &backtrace
	}
	return &StageFailure{Stage: stage, Status: st}
}

// ownFailure is the error status a plugin wrote into results.json
// before exiting non-zero, or nil.
func ownFailure(stage, path string) *StageFailure {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) > maxResultsBytes {
		return nil
	}
	var r struct {
		Status *Status `json:"status"`
	}
	if json.Unmarshal(raw, &r) != nil || r.Status == nil || r.Status.Code == "" || r.Status.Code == "success" {
		return nil
	}
	return &StageFailure{Stage: stage, Status: *r.Status}
}

// readResults reads and validates results.json.
func readResults(stage, path, backtrace string) (*Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, failure(stage, "Invalid results", "the plugin wrote no results.json (it gets its path as the second argument)", backtrace)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxResultsBytes+1))
	if err != nil {
		return nil, failure(stage, "Invalid results", err.Error(), backtrace)
	}
	if len(raw) > maxResultsBytes {
		return nil, failure(stage, "Invalid results", fmt.Sprintf("results.json is larger than %d bytes", maxResultsBytes), backtrace)
	}
	return ParseResults(stage, raw)
}

// ParseResults validates a results.json: a JSON object with a status;
// code "success" or the stage failed with the plugin's status; batches
// with maxBatchSize an integer from 1,000 to 10,000,000 (default 10,000).
func ParseResults(stage string, raw []byte) (*Results, error) {
	var r struct {
		Data    json.RawMessage            `json:"data"`
		Status  *Status                    `json:"status"`
		Stages  map[string]json.RawMessage `json:"stages"`
		Batches *struct {
			MaxBatchSize *float64        `json:"maxBatchSize"`
			Options      json.RawMessage `json:"options"`
		} `json:"batches"`
		HTTP json.RawMessage `json:"http"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		msg := "results.json is not a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, failure(stage, "Invalid results", msg, "")
	}
	if r.Status == nil {
		return nil, failure(stage, "Invalid results", `results.json has no status (write "status": {"code": "success"})`, "")
	}
	if r.Status.Code != "success" {
		return nil, &StageFailure{Stage: stage, Status: *r.Status}
	}
	res := &Results{Data: r.Data, Status: *r.Status, Stages: r.Stages, Raw: raw}
	if len(r.HTTP) > 0 && string(r.HTTP) != "null" {
		if _, err := parseHTTP(r.HTTP); err != nil {
			return nil, failure(stage, "Invalid results", err.Error(), "")
		}
		res.HTTP = r.HTTP
	}
	if len(res.Data) == 0 || string(res.Data) == "null" {
		res.Data = json.RawMessage("{}")
	}
	if r.Batches != nil {
		size := float64(MaxBatchSizeDefault)
		if r.Batches.MaxBatchSize != nil {
			size = *r.Batches.MaxBatchSize
		}
		if size != math.Trunc(size) || size < MaxBatchSizeMin || size > MaxBatchSizeMax {
			return nil, failure(stage, "Invalid results", fmt.Sprintf("batches.maxBatchSize is %v: it must be a whole number from 1,000 to 10,000,000 (default 10,000)", size), "")
		}
		res.Batches = &Batches{MaxBatchSize: int(size), Options: r.Batches.Options}
	}
	return res, nil
}
