// Package jsonsyntax holds pieces of the JSON grammar (RFC 8259) that
// Weft's hand-written readers share: the event decoder's validator and the
// delivery request decoder scan numbers and \u escapes the same way.
package jsonsyntax
