package delivery

import (
	"testing"

	ev "github.com/promotedai/schema/generated/go/proto/event"
)

func TestTwoArmExperimentCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build func() (*TwoArmExperiment, error)
		want  TwoArmExperiment
	}{
		{"explicit buckets", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("a", 5, 10, 5, 10) },
			TwoArmExperiment{CohortID: "a", CohortIDHash: stringHash("a"), NumActiveControlBuckets: 5,
				NumControlBuckets: 10, NumActiveTreatmentBuckets: 5, NumTreatmentBuckets: 10, NumTotalBuckets: 20}},
		{"1 percent", func() (*TwoArmExperiment, error) { return Create5050TwoArmExperimentConfig("a", 1, 1) },
			TwoArmExperiment{CohortID: "a", CohortIDHash: stringHash("a"), NumActiveControlBuckets: 1,
				NumControlBuckets: 50, NumActiveTreatmentBuckets: 1, NumTreatmentBuckets: 50, NumTotalBuckets: 100}},
		{"10 and 5 percent", func() (*TwoArmExperiment, error) { return Create5050TwoArmExperimentConfig("a", 10, 5) },
			TwoArmExperiment{CohortID: "a", CohortIDHash: stringHash("a"), NumActiveControlBuckets: 10,
				NumControlBuckets: 50, NumActiveTreatmentBuckets: 5, NumTreatmentBuckets: 50, NumTotalBuckets: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.build()
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if *got != tt.want {
				t.Errorf("experiment = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestTwoArmExperimentCreateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		build func() (*TwoArmExperiment, error)
		want  string
	}{
		{"empty cohort id", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("", 5, 10, 5, 10) },
			"cohort ID must be non-empty"},
		{"blank cohort id", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment(" \t", 5, 10, 5, 10) },
			"cohort ID must be non-empty"},
		{"no control buckets", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("a", 0, 0, 5, 10) },
			"control buckets must be positive"},
		{"no treatment buckets", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("a", 5, 10, 0, 0) },
			"treatment buckets must be positive"},
		{"negative active control", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("a", -1, 10, 5, 10) },
			"active control buckets must be between 0 and the total number of control buckets"},
		{"too many active control", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("a", 11, 10, 5, 10) },
			"active control buckets must be between 0 and the total number of control buckets"},
		{"negative active treatment", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("a", 5, 10, -1, 10) },
			"active treatment buckets must be between 0 and the total number of treatment buckets"},
		{"too many active treatment", func() (*TwoArmExperiment, error) { return NewTwoArmExperiment("a", 5, 10, 11, 10) },
			"active treatment buckets must be between 0 and the total number of treatment buckets"},
		{"negative control percent", func() (*TwoArmExperiment, error) { return Create5050TwoArmExperimentConfig("a", -1, 5) },
			"control percent must be in the range [0, 50]"},
		{"control percent over 50", func() (*TwoArmExperiment, error) { return Create5050TwoArmExperimentConfig("a", 51, 5) },
			"control percent must be in the range [0, 50]"},
		{"negative treatment percent", func() (*TwoArmExperiment, error) { return Create5050TwoArmExperimentConfig("a", 5, -1) },
			"treatment percent must be in the range [0, 50]"},
		{"treatment percent over 50", func() (*TwoArmExperiment, error) { return Create5050TwoArmExperimentConfig("a", 5, 51) },
			"treatment percent must be in the range [0, 50]"},
		{"5050 with empty cohort", func() (*TwoArmExperiment, error) { return Create5050TwoArmExperimentConfig("", 5, 5) },
			"cohort ID must be non-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.build()
			checkFailure(t, got, err, tt.want)
		})
	}
}

// The reference buckets are those of Promoted's Go client for the cohort
// HOLD_OUT, so users keep their arms when switching SDKs.
func TestTwoArmExperimentReferenceBuckets(t *testing.T) {
	t.Parallel()
	exp, err := Create5050TwoArmExperimentConfig("HOLD_OUT", 50, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"user1": 83, "user2": 16, "user3": 5, "user4": 50, "user5": 39}
	for user, bucket := range want {
		if got := exp.bucket(user); got != bucket {
			t.Errorf("bucket(%q) = %d, want %d", user, got, bucket)
		}
	}
}

func TestTwoArmExperimentMembership(t *testing.T) {
	t.Parallel()
	full, err := Create5050TwoArmExperimentConfig("HOLD_OUT", 50, 50)
	if err != nil {
		t.Fatal(err)
	}
	small, err := Create5050TwoArmExperimentConfig("HOLD_OUT", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		exp  *TwoArmExperiment
		user string
		want *ev.CohortMembership
	}{
		{"user in control", full, "user2", &ev.CohortMembership{CohortId: "HOLD_OUT", Arm: ev.CohortArm_CONTROL}},
		{"user in treatment", full, "user4", &ev.CohortMembership{CohortId: "HOLD_OUT", Arm: ev.CohortArm_TREATMENT}},
		{"user not active", small, "user5", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.exp.CheckMembership(tt.user)
			if (got == nil) != (tt.want == nil) ||
				got.GetCohortId() != tt.want.GetCohortId() || got.GetArm() != tt.want.GetArm() {
				t.Errorf("CheckMembership(%q) = %v, want %v", tt.user, got, tt.want)
			}
		})
	}
}
