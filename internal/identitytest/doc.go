// Package identitytest holds the tests that hold the stitching engine
// (package stitch) to issue 18's promises, on both backends and with the
// real engine: the partition and the entity ids are a function of the
// events and the config, never of their arrival order or batching; the
// household population (demo.Households) is stitched with pairwise
// precision at least 0.99 and recall at least 0.98; the worked example of
// the seed keeps its result in any order; a pass killed in the middle of a
// split leaves a store that the next pass brings to the result of a clean
// one.
//
// It has no code outside its tests. The household test's size is the flag
// -households (customers, 5,000 by default):
//
//	go test ./internal/identitytest -run TestHouseholdQuality -households 20000 -v
//
// At 20,000 customers (186,726 events) the arrival-order engine of step 11
// scored pairwise precision 0.954 and recall 0.977 there, the failure issue
// 18 describes (0.953, 0.978); the scores hardly move with the size.
package identitytest
