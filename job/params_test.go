package job_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/weftdata/weft/job"
)

type nested struct {
	Field string `json:"field"`
}

type testParams struct {
	Name   string            `json:"name"`
	Count  int               `json:"count"`
	Ratio  float64           `json:"ratio"`
	On     bool              `json:"on"`
	Tags   []string          `json:"tags"`
	Nested nested            `json:"nested"`
	Extra  map[string]string `json:"extra"`
	hidden int
}

func TestParamsOf(t *testing.T) {
	t.Parallel()
	p, err := job.ParamsOf[testParams](json.RawMessage(`{"name": "a", "count": 2, "ratio": 0.5, "on": true, "tags": ["x"], "nested": {"field": "f"}}`))
	if err != nil || p.Name != "a" || p.Count != 2 || p.Ratio != 0.5 || !p.On || p.Tags[0] != "x" || p.Nested.Field != "f" || p.hidden != 0 {
		t.Fatalf("ParamsOf = %+v, %v", p, err)
	}
	for _, empty := range []string{``, `null`, ` {} `} {
		if p, err := job.ParamsOf[testParams](json.RawMessage(empty)); err != nil || p.Name != "" {
			t.Fatalf("ParamsOf(%q) = %+v, %v", empty, p, err)
		}
	}
	for _, tc := range []struct{ params, want string }{
		{`{"nmae": "a"}`, `parameter nmae: unknown parameter (unknown field "nmae"; known: count, extra, name, nested, on, ratio, tags)`},
		{`{"name": 1}`, "parameter name: must be a string, not number"},
		{`{"count": 1.5}`, "parameter count: must be a whole number, not number 1.5"},
		{`{"count": "2"}`, "parameter count: must be a whole number, not string"},
		{`{"ratio": "x"}`, "parameter ratio: must be a number, not string"},
		{`{"on": "yes"}`, "parameter on: must be true or false, not string"},
		{`{"tags": "x"}`, "parameter tags: must be a list, not string"},
		{`{"nested": {"field": 3}}`, "parameter nested.field: must be a string, not number"},
		{`{"extra": []}`, "parameter extra: must be an object, not array"},
	} {
		_, err := job.ParamsOf[testParams](json.RawMessage(tc.params))
		if err == nil || err.Error() != tc.want || !errors.Is(err, job.ErrBadParam) {
			t.Errorf("ParamsOf(%s) = %v, want %q", tc.params, err, tc.want)
		}
	}
	if _, err := job.ParamsOf[testParams](json.RawMessage(`[1]`)); err == nil {
		t.Error("a list was taken for parameters")
	}
	if _, err := job.ParamsOf[testParams](json.RawMessage(`{} {}`)); err == nil {
		t.Error("data after the object was accepted")
	}
}

func TestStatusRoundTrip(t *testing.T) {
	t.Parallel()
	type state struct {
		Phase string `json:"phase"`
		Done  int    `json:"done"`
	}
	st, err := job.NewStatus(state{"list", 2}, true)
	if err != nil || string(st.State) != `{"phase":"list","done":2}` || !st.Complete {
		t.Fatalf("NewStatus = %s %v, %v", st.State, st.Complete, err)
	}
	back, err := job.StateOf[state](st)
	if err != nil || back != (state{"list", 2}) {
		t.Fatalf("StateOf = %+v, %v", back, err)
	}
	// A state written by an older build, with a field this one dropped
	// and its keys in another order, still reads.
	old := &job.Status{State: json.RawMessage(`{"done":3,"gone":true,"phase":"import"}`)}
	if back, err = job.StateOf[state](old); err != nil || back != (state{"import", 3}) {
		t.Fatalf("StateOf(old) = %+v, %v", back, err)
	}
	if back, err = job.StateOf[state](&job.Status{}); err != nil || back != (state{}) {
		t.Fatalf("StateOf(empty) = %+v, %v", back, err)
	}
	if st, err = job.NewStatus[*state](nil, false); err != nil || string(st.State) != `{}` {
		t.Fatalf("NewStatus(nil) = %s, %v", st.State, err)
	}
	if _, err = job.StateOf[state](&job.Status{State: json.RawMessage(`{"done":"x"}`)}); err == nil {
		t.Fatal("a state of the wrong type was read")
	}
}

// worker counts its Prepare, Perform and Close calls through the Job that
// Typed makes of it.
type worker struct {
	prepared, performed, closed int
	last                        *testParams
}

func (w *worker) Prepare(_ context.Context, _ *job.Invocation, p testParams, st *struct{ N int }, resuming bool) (bool, error) {
	w.prepared++
	w.last = &p
	if !resuming {
		st.N = 10
	}
	return false, nil
}

func (w *worker) Perform(_ context.Context, st *struct{ N int }) (bool, error) {
	w.performed++
	st.N++
	return st.N >= 12, nil
}

func (w *worker) ValidateParams(_ context.Context, p testParams) error {
	if p.Name == "" {
		return &job.ParamError{Param: "name", Reason: "required"}
	}
	return nil
}

func (w *worker) Close() error { w.closed++; return nil }

func TestTyped(t *testing.T) {
	t.Parallel()
	w := &worker{}
	info := job.Typed[testParams, struct{ N int }]("typed_test", "", func() *worker { return w })
	ctx := context.Background()
	for params, want := range map[string]string{
		`{"name": "a"}`: "",
		`{}`:            "parameter name: required",
		`{"name": 2}`:   "parameter name: must be a string, not number",
	} {
		err := info.ValidateParams(ctx, json.RawMessage(params))
		if got := ""; err != nil && err.Error() != want || err == nil && want != got {
			t.Errorf("ValidateParams(%s) = %v, want %q", params, err, want)
		}
	}
	j := info.New()
	st, err := j.Prepare(ctx, &job.Invocation{Parameters: json.RawMessage(`{"name": "a"}`)}, nil, false)
	if err != nil || string(st.State) != `{"N":10}` || w.last.Name != "a" {
		t.Fatalf("Prepare = %s, %v", st.State, err)
	}
	for !st.Complete {
		if st, err = j.Perform(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if string(st.State) != `{"N":12}` || w.performed != 2 {
		t.Fatalf("state %s after %d performs", st.State, w.performed)
	}
	// Resuming keeps the stored state; bad parameters never reach the worker.
	if st, err = j.Prepare(ctx, &job.Invocation{Parameters: json.RawMessage(`{"name": "b"}`)}, &job.Status{State: json.RawMessage(`{"N":11}`)}, true); err != nil || string(st.State) != `{"N":11}` {
		t.Fatalf("resume = %s, %v", st.State, err)
	}
	if _, err = j.Prepare(ctx, &job.Invocation{Parameters: json.RawMessage(`{"name": 1}`)}, nil, false); !errors.Is(err, job.ErrBadParam) || w.prepared != 2 {
		t.Fatalf("Prepare with bad parameters = %v (%d prepares)", err, w.prepared)
	}
	c, ok := j.(job.Closer)
	if !ok {
		t.Fatal("a typed job is not a Closer")
	}
	if err := c.Close(); err != nil || w.closed != 1 {
		t.Fatalf("Close = %v, %d closes", err, w.closed)
	}
}
