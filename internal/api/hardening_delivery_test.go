package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	ev "github.com/promotedai/schema/generated/go/proto/event"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/store"
)

// TestLogNULKeepsGoodRecords: an impression with \u0000 in a string lost
// the whole /log on PostgreSQL (500, good impressions gone). Now it is
// refused alone, by the rule of POST /v1/events, and the others stored.
func TestLogNULKeepsGoodRecords(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newDeliveryServer(t, backend, "", api.Config{})
			lr := &ev.LogRequest{Impression: []*ev.Impression{
				{ImpressionId: "imp-1", ContentId: "c1"},
				{ImpressionId: "imp-2", ContentId: "c\x002"},
				{ImpressionId: "imp-3", ContentId: "c3"},
			}}
			body, err := json.Marshal(lr)
			if err != nil {
				t.Fatal(err)
			}
			r := s.do(t, "POST", "/log", map[string]string{"Content-Type": "application/json"}, body)
			expectError(t, r, 400, "invalid_request", `1 records refused, the others stored; the first, a impression: payload: contains \u0000`)
			events, err := s.store.EventList(context.Background(), &store.EventListParams{SourceID: "delivery", Type: "impression", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 || events[0].ID != "delivery/impression/imp-1" || events[1].ID != "delivery/impression/imp-3" {
				t.Fatalf("stored %+v", events)
			}
		})
	}
}

// TestDeliverNULUserKeepsOtherLogs: a /deliver whose user id held \u0000
// made the background writer drop the delivery logs of the other users in
// its batch on PostgreSQL. The delivery is served; its log alone is
// refused.
func TestDeliverNULUserKeepsOtherLogs(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newDeliveryServer(t, backend, "", api.Config{})
			users := []string{"u1", "u2", "bad\x00user", "u3", "u4", "u5"}
			for i, u := range users {
				req := goRequest(3, 3, 0)
				req.UserInfo.UserId = u
				req.ClientRequestId = fmt.Sprintf("req-%d", i)
				body, err := json.Marshal(req)
				if err != nil {
					t.Fatal(err)
				}
				if r := s.do(t, "POST", "/deliver", map[string]string{"Content-Type": "application/json"}, body); r.status != 200 {
					t.Fatalf("deliver for %q: %d %s", u, r.status, r.body)
				}
			}
			waitForEvents(t, s.store, "delivery_log", 5)
			time.Sleep(500 * time.Millisecond) // more than a flush: nothing else comes
			logs, err := s.store.EventList(context.Background(), &store.EventListParams{SourceID: "delivery", Type: "delivery_log", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(logs) != 5 {
				t.Fatalf("%d delivery logs, want the 5 of the other users", len(logs))
			}
			for _, e := range logs {
				if strings.Contains(string(e.Payload), `\u0000`) {
					t.Errorf("stored a log with NUL: %s", e.Payload)
				}
			}
		})
	}
}

// TestDeliverIsBounded: /deliver (and /log) take at most
// MaxConcurrentDeliver requests at once and DeliverBodyBudget bytes of
// body between them; beyond either the answer is 503 with Retry-After,
// at once, and the requests in progress finish.
func TestDeliverIsBounded(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := newDeliveryServer(t, backend, "", api.Config{MaxConcurrentDeliver: 2, DeliverBodyBudget: 300 << 10})
			body, err := json.Marshal(goRequest(3, 3, 0))
			if err != nil {
				t.Fatal(err)
			}
			// slow sends a body in two parts, the second once told to.
			type answer struct {
				status int
				body   string
			}
			slow := func(first []byte, rest []byte) (func(), chan answer) {
				pr, pw := io.Pipe()
				done := make(chan answer, 1)
				go func() {
					resp, err := http.Post(s.URL+"/deliver", "application/json", pr)
					if err != nil {
						done <- answer{body: err.Error()}
						return
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					done <- answer{resp.StatusCode, string(b)}
				}()
				if _, err := pw.Write(first); err != nil {
					t.Fatal(err)
				}
				return func() { pw.Write(rest); pw.Close() }, done
			}
			busy := func(what string, r response) {
				t.Helper()
				expectError(t, r, 503, "busy", what)
				if got := r.header.Get("Retry-After"); got != "1" {
					t.Errorf("Retry-After %q", got)
				}
			}

			// Two in progress: a third is refused at once.
			finish1, done1 := slow(body[:10], body[10:])
			finish2, done2 := slow(body[:10], body[10:])
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			busy("2 Delivery and Metrics API requests are in progress", s.do(t, "POST", "/deliver", nil, body))
			busy("2 Delivery and Metrics API requests are in progress", s.do(t, "POST", "/log", nil, []byte("{}")))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the 503s took %v", took)
			}
			finish1()
			finish2()
			for _, done := range []chan answer{done1, done2} {
				if a := <-done; a.status != 200 {
					t.Errorf("request in progress: %d %s", a.status, a.body)
				}
			}

			// Bodies: with one holding 200 KB, a second of 240 KB is over the
			// 300 KB budget; the first finishes, and alone the second goes
			// through.
			padded := func() []byte {
				var req map[string]any
				_ = json.Unmarshal(body, &req)
				req["searchQuery"] = strings.Repeat("q", 240<<10)
				b, _ := json.Marshal(req)
				return b
			}()
			finish, done := slow(padded[:200<<10], padded[200<<10:])
			time.Sleep(200 * time.Millisecond)
			busy("the memory set aside", s.do(t, "POST", "/deliver", nil, padded))
			finish()
			if a := <-done; a.status != 200 {
				t.Errorf("held request: %d %s", a.status, a.body)
			}
			if r := s.do(t, "POST", "/deliver", nil, padded); r.status != 200 {
				t.Errorf("alone: %d %.300s", r.status, r.body)
			}

			// Concurrent small requests within the limits all succeed or
			// are refused with 503, never anything else.
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for range 16 {
				wg.Go(func() {
					resp, err := http.Post(s.URL+"/deliver", "application/json", strings.NewReader(string(body)))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					codes[resp.StatusCode]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if codes[200] == 0 || codes[200]+codes[503] != 16 {
				t.Errorf("answers %v", codes)
			}
		})
	}
}
