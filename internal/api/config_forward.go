package api

import (
	"net/http"

	"github.com/weftdata/weft/internal/clip"
	"github.com/weftdata/weft/internal/pipeline"
)

// Values of PUT /v1/config?stitching=: how changed stitching rules apply.
const (
	stitchingRebuild = "rebuild" // the default: rebuild from the whole log
	stitchingForward = "forward" // to the events stitched from now on
)

// applyOptions reads the query parameters of PUT /v1/config.
func applyOptions(r *http.Request) (pipeline.ApplyOptions, error) {
	q := r.URL.Query()
	if len(q["stitching"]) > 1 {
		return pipeline.ApplyOptions{}, badRequest("stitching: give it once")
	}
	switch v := q.Get("stitching"); v {
	case "", stitchingRebuild:
		return pipeline.ApplyOptions{}, nil
	case stitchingForward:
		return pipeline.ApplyOptions{StitchingForward: true}, nil
	default:
		return pipeline.ApplyOptions{}, badRequest("stitching: " + clip.Quote(v) + " is not a way to apply stitching rules (rebuild, the default, or forward)")
	}
}

// forwardNote tells the audit trail that changed rules apply forward only.
func forwardNote(a *pipeline.Applied) string {
	if a.StitchingForward {
		return " (stitching rules forward-only: earlier events not re-linked)"
	}
	return ""
}
