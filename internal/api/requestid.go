package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// RequestIDHeader carries a request's id, in and out: every answer has
// one, and every error body and error log line repeats it.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an id the client sent; a longer one is replaced.
const maxRequestIDLen = 128

type requestIDKey struct{}

// withRequestID gives the request an id: the client's when it is sane
// (see validRequestID), else a new random one. The id goes back in
// RequestIDHeader and into the request's context for writeError.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// validRequestID accepts 1 to maxRequestIDLen letters, digits and . _ -:
// an id is echoed in headers, JSON and logs, so nothing that could split a
// header or a log line gets through.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24 and later)
	return hex.EncodeToString(b[:])
}

// requestID is the id withRequestID gave the request; empty outside it.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
