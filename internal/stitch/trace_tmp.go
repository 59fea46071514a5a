package stitch

import (
	"fmt"
	"os"
	"time"
)

var traceOn = os.Getenv("WEFT_STITCH_TRACE") != ""

type tracer struct {
	last  time.Time
	parts []string
}

func newTracer() *tracer { return &tracer{last: time.Now()} }

func (t *tracer) mark(what string) {
	if !traceOn {
		return
	}
	now := time.Now()
	t.parts = append(t.parts, fmt.Sprintf("%s=%s", what, now.Sub(t.last).Round(time.Millisecond)))
	t.last = now
}

func (t *tracer) print() {
	if traceOn {
		fmt.Fprintln(os.Stderr, "TRACE", t.parts)
	}
}

var tr = newTracer()
