package delivery

import (
	"errors"
	"hash/fnv"
	"strings"

	ev "github.com/promotedai/schema/generated/go/proto/event"
)

// TwoArmExperiment assigns users to a control and a treatment arm by
// hashing the user id with the cohort id into NumTotalBuckets buckets.
// Buckets [0, NumControlBuckets) belong to control and the rest to
// treatment; only the first NumActive... buckets of each arm are in the
// experiment, so traffic can be ramped without moving users between arms.
type TwoArmExperiment struct {
	CohortID                  string
	CohortIDHash              int
	NumActiveControlBuckets   int
	NumControlBuckets         int
	NumActiveTreatmentBuckets int
	NumTreatmentBuckets       int
	NumTotalBuckets           int
}

var (
	errCohortIDEmpty          = errors.New("cohort ID must be non-empty")
	errControlBuckets         = errors.New("control buckets must be positive")
	errTreatmentBuckets       = errors.New("treatment buckets must be positive")
	errActiveControlBuckets   = errors.New("active control buckets must be between 0 and the total number of control buckets")
	errActiveTreatmentBuckets = errors.New("active treatment buckets must be between 0 and the total number of treatment buckets")
	errControlPercent         = errors.New("control percent must be in the range [0, 50]")
	errTreatmentPercent       = errors.New("treatment percent must be in the range [0, 50]")
)

// NewTwoArmExperiment returns an experiment with numControlBuckets control
// buckets (activeControlBuckets of them active) and numTreatmentBuckets
// treatment buckets (activeTreatmentBuckets active).
func NewTwoArmExperiment(cohortID string, activeControlBuckets, numControlBuckets,
	activeTreatmentBuckets, numTreatmentBuckets int) (*TwoArmExperiment, error) {
	switch {
	case strings.TrimSpace(cohortID) == "":
		return nil, errCohortIDEmpty
	case numControlBuckets <= 0:
		return nil, errControlBuckets
	case numTreatmentBuckets <= 0:
		return nil, errTreatmentBuckets
	case activeControlBuckets < 0 || activeControlBuckets > numControlBuckets:
		return nil, errActiveControlBuckets
	case activeTreatmentBuckets < 0 || activeTreatmentBuckets > numTreatmentBuckets:
		return nil, errActiveTreatmentBuckets
	}
	return &TwoArmExperiment{
		CohortID:                  cohortID,
		CohortIDHash:              stringHash(cohortID),
		NumActiveControlBuckets:   activeControlBuckets,
		NumControlBuckets:         numControlBuckets,
		NumActiveTreatmentBuckets: activeTreatmentBuckets,
		NumTreatmentBuckets:       numTreatmentBuckets,
		NumTotalBuckets:           numControlBuckets + numTreatmentBuckets,
	}, nil
}

// Create5050TwoArmExperimentConfig returns an experiment of 50 control and
// 50 treatment buckets in which controlPercent and treatmentPercent of all
// users are active in each arm.
func Create5050TwoArmExperimentConfig(cohortID string, controlPercent, treatmentPercent int) (*TwoArmExperiment, error) {
	if controlPercent < 0 || controlPercent > 50 {
		return nil, errControlPercent
	}
	if treatmentPercent < 0 || treatmentPercent > 50 {
		return nil, errTreatmentPercent
	}
	return NewTwoArmExperiment(cohortID, controlPercent, 50, treatmentPercent, 50)
}

// CheckMembership returns the user's arm in this experiment, or nil when
// the user's bucket is not active.
func (e *TwoArmExperiment) CheckMembership(userID string) *ev.CohortMembership {
	bucket := e.bucket(userID)
	switch {
	case bucket < e.NumActiveControlBuckets:
		return &ev.CohortMembership{CohortId: e.CohortID, Arm: ev.CohortArm_CONTROL}
	case bucket >= e.NumControlBuckets && bucket < e.NumControlBuckets+e.NumActiveTreatmentBuckets:
		return &ev.CohortMembership{CohortId: e.CohortID, Arm: ev.CohortArm_TREATMENT}
	}
	return nil
}

// bucket combines the two hashes as Promoted's Go client does, so users
// land in the same arms with either SDK. Both hashes are non-negative and
// the sum stays far below 2^63, so no absolute value is needed.
func (e *TwoArmExperiment) bucket(userID string) int {
	h := 17*31 + stringHash(userID)
	h = h*31 + e.CohortIDHash
	return h % e.NumTotalBuckets
}

// stringHash is FNV-1a (32 bits) of s, widened to int.
func stringHash(s string) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32())
}
