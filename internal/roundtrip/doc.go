// Package roundtrip is for tests that talk to a real server over HTTP: it
// sends one request and reads the whole answer, failing the test when the
// request cannot be sent or the answer read. Tests of the server, the API,
// the privacy processor and the weft binary share it instead of each
// writing their own.
package roundtrip
