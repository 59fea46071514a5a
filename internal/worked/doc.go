// Package worked is the worked example of specs/meiro_cps.md section 11 as
// data: its events, its stitching rules and its attribute definitions, in
// weft.yaml form, with the expected results the tests of the stages hold
// the engines to.
package worked
