package delivery

import (
	"math/rand"
	randv2 "math/rand/v2"
	"sync"
	"time"
)

// Sampler decides whether one request is sampled into shadow traffic.
type Sampler interface {
	SampleRandom(threshold float32) bool
}

// DefaultSampler samples with a pseudo-random number generator. Its zero
// value is usable and draws from the goroutine-safe global source; one from
// NewDefaultSampler (or with rand set) draws from its own, seeded source.
type DefaultSampler struct {
	// mu guards rand: Deliver runs on many goroutines, and a *rand.Rand is
	// not safe for concurrent use (the real client shares one unguarded).
	mu   sync.Mutex
	rand *rand.Rand
}

// NewDefaultSampler returns a sampler seeded from the current time.
func NewDefaultSampler() *DefaultSampler {
	return &DefaultSampler{rand: rand.New(rand.NewSource(time.Now().UnixNano()))}
}

// SampleRandom is true with probability threshold: always for threshold
// >= 1, never for threshold <= 0, otherwise when one uniform draw in [0,1)
// falls below it. Exactly one number is drawn per call in the last case.
func (s *DefaultSampler) SampleRandom(threshold float32) bool {
	if threshold >= 1 {
		return true
	}
	if threshold <= 0 {
		return false
	}
	return s.float32() < threshold
}

func (s *DefaultSampler) float32() float32 {
	if s.rand == nil {
		return randv2.Float32()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rand.Float32()
}
