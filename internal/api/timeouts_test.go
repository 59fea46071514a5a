package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestBodyDeadlineClearedAfterBody: net/http reads the connection in the
// background once the body is read, and a read deadline left behind would
// cancel the request when it passed (net/http clears it). A handler that
// answers long after the body (a large ingest, a slow store) must not be
// cancelled.
func TestBodyDeadlineClearedAfterBody(t *testing.T) {
	h := bodyDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Error(err)
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", 499)
		case <-time.After(500 * time.Millisecond):
			io.WriteString(w, "ok")
		}
	}), 100*time.Millisecond)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, body := range []io.Reader{strings.NewReader("sized"), io.MultiReader(strings.NewReader("chunked"))} {
		resp, err := http.Post(srv.URL, "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != "ok" {
			t.Errorf("%T body: %d %s", body, resp.StatusCode, got)
		}
	}
}
