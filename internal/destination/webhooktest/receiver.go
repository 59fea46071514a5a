// Package webhooktest is a webhook receiver for tests and benchmarks: a
// real HTTP server that checks each request's signature, keeps what it
// took by idempotency key, and, when asked, fails at random the ways
// receivers do (500, 429 with Retry-After, answers slower than the
// sender's timeout, connections reset).
package webhooktest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/destination"
)

// Options say how the receiver answers. The failure rates are the share
// of requests answered each way, drawn from a generator seeded with Seed.
type Options struct {
	// Key is the HMAC key requests must be signed with; a request whose
	// signature does not verify is answered 401 and counted.
	Key  []byte
	Seed uint64
	// Fail500, Fail429, Slow and Reset are failure rates (0 to 1).
	Fail500, Fail429, Slow, Reset float64
	// RetryAfter is the Retry-After of a 429 (seconds or an HTTP date).
	RetryAfter string
	// SlowFor is how long a slow answer takes (it is taken all the same,
	// as a receiver that commits before answering would).
	SlowFor time.Duration
	// Refuse, when set and true for a body, answers it 422.
	Refuse func(body []byte) bool
}

// Receiver is a running webhook receiver.
type Receiver struct {
	URL string
	srv *httptest.Server

	mu   sync.Mutex
	opts Options
	rng  *rand.Rand
	// keys are the items taken per idempotency key (a resend of a key
	// must carry the same); taken counts the 2xx per key.
	keys  map[string][]string
	taken map[string]int
	// changes are the changes taken, by seq; profiles the profiles by
	// entity, the last taken.
	changes  map[int64]destination.Change
	profiles map[string]destination.Profile
	// bodies are those taken and not yet decoded into changes and
	// profiles; order the seqs of the changes decoded, as taken.
	bodies [][]byte
	order  []int64
	stats  Stats
	// err is the first body that did not decode (see Stats.Undecodable).
	err error
}

// Stats count the requests by answer.
type Stats struct {
	Requests, Taken, Failed500, Failed429, Slow, Reset, Refused, BadSignatures int
	// Conflicts count keys sent again with other items (answered 400).
	Conflicts int
	// Undecodable counts bodies taken whose changes or profiles did not
	// decode in full when asked for (their items did, when taken): a sender
	// bug the test sees in Stats and in Err instead of a panic.
	Undecodable int
}

// Start starts a receiver, closed when the test ends (Close).
func Start(opts Options) *Receiver {
	r := &Receiver{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, 1)), keys: map[string][]string{}, taken: map[string]int{},
		changes: map[int64]destination.Change{}, profiles: map[string]destination.Profile{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/hook"
	return r
}

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }

// SetOptions changes how the receiver answers from now on (Key and Seed
// are kept).
func (r *Receiver) SetOptions(o Options) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o.Key, o.Seed = r.opts.Key, r.opts.Seed
	r.opts = o
}

// failure draws how to answer: "" takes the request.
func (r *Receiver) failure() (string, Options) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Requests++
	x := r.rng.Float64()
	o := r.opts
	for _, f := range []struct {
		name string
		rate float64
	}{{"500", o.Fail500}, {"429", o.Fail429}, {"slow", o.Slow}, {"reset", o.Reset}} {
		if x < f.rate {
			return f.name, o
		}
		x -= f.rate
	}
	return "", o
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	how, o := r.failure()
	if err := destination.Verify(o.Key, req.Header.Get(destination.HeaderTimestamp), req.Header.Get(destination.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		r.count(func(s *Stats) { s.BadSignatures++ })
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	switch how {
	case "500":
		r.count(func(s *Stats) { s.Failed500++ })
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	case "429":
		r.count(func(s *Stats) { s.Failed429++ })
		w.Header().Set("Retry-After", o.RetryAfter)
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case "reset":
		r.count(func(s *Stats) { s.Reset++ })
		reset(w)
		return
	case "slow":
		r.count(func(s *Stats) { s.Slow++ })
		time.Sleep(o.SlowFor)
	}
	if o.Refuse != nil && o.Refuse(body) {
		r.count(func(s *Stats) { s.Refused++ })
		http.Error(w, `{"error": "refused"}`, http.StatusUnprocessableEntity)
		return
	}
	if err := r.take(req.Header.Get(destination.HeaderIdempotencyKey), body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// reset closes the connection with a TCP reset.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	conn.Close()
}

func (r *Receiver) count(fn func(*Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.stats)
}

// take records a body under its key; a key sent again must carry the
// same items. Only the items are decoded here; the bodies taken are
// decoded whole when asked for (Changes, Profiles), so that a benchmark
// does not time the receiver's decoding beside the sender.
func (r *Receiver) take(key string, body []byte) error {
	var b struct {
		Changes []struct {
			Seq int64 `json:"seq"`
		} `json:"changes"`
		Profiles []struct {
			EntityID string `json:"entity_id"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return err
	}
	var items []string
	for _, c := range b.Changes {
		items = append(items, strconv.FormatInt(c.Seq, 10))
	}
	for _, p := range b.Profiles {
		items = append(items, p.EntityID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.keys[key]; ok && !slices.Equal(prev, items) {
		r.stats.Conflicts++
		return fmt.Errorf("key %s sent again with other items: %v, first %v", key, items, prev)
	}
	r.keys[key] = items
	r.taken[key]++
	r.stats.Taken++
	r.bodies = append(r.bodies, body)
	return nil
}

// decode decodes the bodies taken since the last call into changes and
// profiles, in the order taken. The caller holds mu.
func (r *Receiver) decode() {
	for _, body := range r.bodies {
		var b struct {
			destination.ChangesBody
			destination.ProfilesBody
		}
		if err := json.Unmarshal(body, &b); err != nil {
			r.stats.Undecodable++
			if r.err == nil {
				r.err = fmt.Errorf("webhooktest: a body taken does not decode: %w", err)
			}
			continue
		}
		for _, c := range b.Changes {
			r.changes[c.Seq] = c
			r.order = append(r.order, c.Seq)
		}
		for _, p := range b.Profiles {
			r.profiles[p.EntityID] = p
		}
	}
	r.bodies = nil
}

// Err is the first error decoding the bodies taken, nil when all decoded.
func (r *Receiver) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decode()
	return r.err
}

// Changes are the changes taken, by seq.
func (r *Receiver) Changes() map[int64]destination.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decode()
	return maps.Clone(r.changes)
}

// Order is the seqs of the changes taken, in the order the receiver took
// them (a change sent again appears again).
func (r *Receiver) Order() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decode()
	return slices.Clone(r.order)
}

// Profiles are the profiles taken, the last per entity.
func (r *Receiver) Profiles() map[string]destination.Profile {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decode()
	return maps.Clone(r.profiles)
}

// Keys are the idempotency keys taken, with how often each was.
func (r *Receiver) Keys() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.taken)
}

// Stats count the requests so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Reset forgets what was taken (the counts too).
func (r *Receiver) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys, r.taken = map[string][]string{}, map[string]int{}
	r.changes, r.profiles, r.stats = map[int64]destination.Change{}, map[string]destination.Profile{}, Stats{}
	r.bodies, r.order = nil, nil
}
