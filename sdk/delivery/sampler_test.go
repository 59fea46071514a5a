package delivery

import (
	"math/rand"
	"testing"
)

func TestSamplerThresholds(t *testing.T) {
	t.Parallel()
	for _, s := range []*DefaultSampler{NewDefaultSampler(), {}} {
		if !s.SampleRandom(1) {
			t.Error("SampleRandom(1) = false, want true")
		}
		if s.SampleRandom(0) {
			t.Error("SampleRandom(0) = true, want false")
		}
	}
}

func TestSamplerRandomness(t *testing.T) {
	t.Parallel()
	// Seed 0 draws 0.945... then 0.244...: one draw per call.
	s := &DefaultSampler{rand: rand.New(rand.NewSource(0))}
	if s.SampleRandom(0.5) {
		t.Error("first SampleRandom(0.5) = true, want false")
	}
	if !s.SampleRandom(0.5) {
		t.Error("second SampleRandom(0.5) = false, want true")
	}
}

func TestZeroSamplerSamplesAtRate(t *testing.T) {
	t.Parallel()
	var s DefaultSampler
	in := 0
	for range 10000 {
		if s.SampleRandom(0.25) {
			in++
		}
	}
	// 25% of 10000 with a standard deviation of about 43.
	if in < 2200 || in > 2800 {
		t.Errorf("sampled %d of 10000 at rate 0.25", in)
	}
}
