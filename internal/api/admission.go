package api

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// MaxConcurrentDeliverDefault is the default of Config.MaxConcurrentDeliver:
// more than the load tests keep in flight (64), few enough that requests
// beyond it are refused at once rather than piling up.
const MaxConcurrentDeliverDefault = 64

// retryAfter is the Retry-After of busy answers, in seconds.
const retryAfter = "1"

// gate admits the requests of the Delivery and Metrics APIs: at most a
// number at once, and their bodies together at most a budget of bytes
// (counted as read, after gzip decoding). A request beyond either is
// answered 503 with Retry-After instead of waiting: a delivery is only
// worth its answer while the user waits for the page, and four 54 MB
// requests once took 7.4 GB because nothing refused them.
type gate struct {
	slots  chan struct{}
	budget atomic.Int64 // body bytes left
}

func newGate(n int, budget int64) *gate {
	g := &gate{slots: make(chan struct{}, n)}
	g.budget.Store(budget)
	return g
}

// enter takes a slot; false when all are taken.
func (g *gate) enter() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g *gate) leave() { <-g.slots }

// body charges what r reads to the budget; release gives it back.
func (g *gate) body(r io.Reader) *gatedBody { return &gatedBody{r: r, g: g} }

type gatedBody struct {
	r       io.Reader
	g       *gate
	charged int64
}

func (b *gatedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.charged += int64(n)
		if b.g.budget.Add(-int64(n)) < 0 {
			return n, errBusy("the request bodies in progress use up the memory set aside for them")
		}
	}
	return n, err
}

func (b *gatedBody) release() { b.g.budget.Add(b.charged) }

// errBusy is a 503 that writeError answers with Retry-After.
func errBusy(why string) error {
	return &Error{http.StatusServiceUnavailable, "busy", fmt.Sprintf("busy: %s; retry after %s s", why, retryAfter)}
}

// admit takes a slot of the Delivery and Metrics APIs' gate, or answers
// 503; the caller leaves the gate when done.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) bool {
	if h.deliverGate.enter() {
		return true
	}
	h.writeError(w, r, errBusy(fmt.Sprintf("%d Delivery and Metrics API requests are in progress, the most served at once", cap(h.deliverGate.slots))))
	return false
}

// readGated reads a Delivery or Metrics API body within the gate's budget.
func (h *handler) readGated(w http.ResponseWriter, r *http.Request, g *gate) ([]byte, func(), error) {
	body, err := h.requestBody(w, r)
	if err != nil {
		return nil, func() {}, err
	}
	defer body.Close()
	gb := g.body(body)
	data, err := io.ReadAll(gb)
	return data, gb.release, err
}
