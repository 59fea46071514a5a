package webhooktest

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/destination"
)

// TestUndecodableBodyIsCountedNotPanicked: a body whose items decode when
// taken but whose changes do not decode in full (a field of the wrong
// type) is counted and reported by Err; the good body beside it is kept.
func TestUndecodableBodyIsCountedNotPanicked(t *testing.T) {
	key := []byte("k")
	r := Start(Options{Key: key})
	defer r.Close()
	post := func(idem, body string) int {
		ts := time.Now().Unix()
		req, _ := http.NewRequest("POST", r.URL, bytes.NewReader([]byte(body)))
		req.Header.Set(destination.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(destination.HeaderSignature, destination.Sign(key, ts, []byte(body)))
		req.Header.Set(destination.HeaderIdempotencyKey, idem)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post("a", `{"changes":[{"seq":1,"segment":5}]}`); s != http.StatusNoContent {
		t.Fatalf("bad body: %d", s)
	}
	if s := post("b", `{"changes":[{"seq":2,"segment":"vip","change":"entered"}]}`); s != http.StatusNoContent {
		t.Fatalf("good body: %d", s)
	}
	changes := r.Changes()
	if len(changes) != 1 || changes[2].Segment != "vip" {
		t.Errorf("changes %v, want the good one only", changes)
	}
	if r.Stats().Undecodable != 1 || r.Err() == nil {
		t.Errorf("stats %+v, err %v: want one undecodable body reported", r.Stats(), r.Err())
	}
}
