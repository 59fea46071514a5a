package api

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// BodyReadTimeoutDefault is the default of Config.BodyReadTimeout.
const BodyReadTimeoutDefault = 30 * time.Second

// bodyDeadlines gives each read of a request body a deadline of timeout
// from when it starts. A deadline for the whole body would cut a large
// upload that is slow but moving; with none, a client that sent headers
// with a large Content-Length and then nothing held its handler (and its
// ingest slot) for good.
func bodyDeadlines(next http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: timeout}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody sets the connection's read deadline before each read.
// Once the body is read, net/http clears it as it starts reading the
// connection in the background (to notice a client that goes away), so a
// handler that answers long after the body is not cut.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout)) // HTTP/1 connections take deadlines
	n, err := b.ReadCloser.Read(p)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		err = &Error{http.StatusRequestTimeout, "body_timeout",
			fmt.Sprintf("the request body stopped arriving: nothing came for %s", b.timeout)}
	}
	return n, err
}
