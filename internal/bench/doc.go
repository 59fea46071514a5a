// Package bench measures Weft's engines at realistic sizes. The same code
// backs "weft bench" and the go test benchmarks, so the figures in
// BENCHMARKS.md can be reproduced either way.
package bench
