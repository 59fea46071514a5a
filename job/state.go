package job

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// NewStatus encodes a state as a Status: what a Job's Prepare and Perform
// return. A state that encodes as null is stored as {}.
func NewStatus[S any](state S, complete bool) (*Status, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("the status cannot be stored as JSON: %w", err)
	}
	if bytes.Equal(b, []byte("null")) {
		b = []byte("{}")
	}
	return &Status{State: b, Complete: complete}, nil
}

// StateOf decodes a Status's state into an S. Fields the state holds and
// S does not are ignored, so that a run stored by an older build resumes
// under a newer one; an empty state is the zero S.
func StateOf[S any](st *Status) (S, error) {
	var s S
	if st == nil {
		return s, errors.New("no status")
	}
	if len(st.State) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(st.State, &s); err != nil {
		return s, fmt.Errorf("checkpoint state: %w", err)
	}
	return s, nil
}
