package demo_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
)

func collect(opts demo.Options) []demo.Event {
	var out []demo.Event
	for e := range demo.Events(opts) {
		out = append(out, e)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a := collect(demo.Options{Customers: 300, Seed: 7})
	b := collect(demo.Options{Customers: 300, Seed: 7})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different datasets")
	}
	if c := collect(demo.Options{Customers: 300, Seed: 8}); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same dataset")
	}
	// Customer i's events do not depend on how many customers there are.
	small := map[int][]string{}
	for _, e := range collect(demo.Options{Customers: 10, Seed: 7}) {
		small[e.Customer] = append(small[e.Customer], string(e.Payload))
	}
	large := map[int][]string{}
	for _, e := range a {
		if e.Customer < 10 {
			large[e.Customer] = append(large[e.Customer], string(e.Payload))
		}
	}
	if !reflect.DeepEqual(small, large) {
		t.Error("a customer's events changed with the dataset size")
	}
}

// TestEveryEventIsValid sends the whole dataset through the real decoder:
// the demo must never produce a record the API rejects.
func TestEveryEventIsValid(t *testing.T) {
	events := collect(demo.Options{Customers: 500})
	var body bytes.Buffer
	for _, e := range events {
		body.Write(e.AppendJSON(nil))
		body.WriteByte('\n')
	}
	b, err := event.Decode(&body, event.FormatNDJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rejected) != 0 {
		t.Fatalf("%d demo records rejected, first: %v", len(b.Rejected), b.Rejected[0])
	}
	if len(b.Events) != len(events) {
		t.Fatalf("decoded %d of %d", len(b.Events), len(events))
	}
	ids := map[string]bool{}
	for _, e := range b.Events {
		if ids[e.ID] {
			t.Fatalf("two demo events share id %s", e.ID)
		}
		ids[e.ID] = true
	}
}

func TestDatasetShape(t *testing.T) {
	events := collect(demo.Options{Customers: 1000})
	types := map[string]int{}
	customers := map[int]bool{}
	placeholders := 0
	for i, e := range events {
		types[e.SourceID+"/"+e.Type]++
		customers[e.Customer] = true
		if i > 0 && e.EventTime.Before(events[i-1].EventTime) && e.Customer/256 == events[i-1].Customer/256 {
			t.Fatalf("events of a chunk are not in time order at %d", i)
		}
		if bytes.Contains(e.Payload, []byte(`"test@test.com"`)) || bytes.Contains(e.Payload, []byte(`"email":"none"`)) {
			placeholders++
		}
		if e.Type == "purchase" && !bytes.Contains(e.Payload, []byte(`"products":[{`)) {
			t.Fatalf("purchase without products: %s", e.Payload)
		}
	}
	for _, typ := range []string{"web/page_view", "web/form_submit", "crm/customer_update", "shop/purchase"} {
		if types[typ] == 0 {
			t.Errorf("no %s events", typ)
		}
	}
	if len(customers) != 1000 {
		t.Errorf("%d customers have events, want 1000", len(customers))
	}
	if placeholders == 0 {
		t.Error("no placeholder emails: the noise stitching must resist is missing")
	}
	if n := len(events); n < 1000*10 || n > 1000*40 {
		t.Errorf("%d events for 1000 customers, expected 10 to 40 each", n)
	}
	// The truth is consistent with the identities: every email in a
	// customer's form submits is theirs, up to case and spaces, or a placeholder.
	for _, e := range events {
		if e.Type != "form_submit" {
			continue
		}
		c := demo.CustomerAt(demo.Options{}, e.Customer)
		if !bytes.Contains(bytes.ToLower(e.Payload), []byte(strings.ToLower(c.Email))) && !bytes.Contains(e.Payload, []byte("test")) &&
			!bytes.Contains(e.Payload, []byte(`"none"`)) && !bytes.Contains(e.Payload, []byte(`"null"`)) && !bytes.Contains(e.Payload, []byte("noemail")) {
			t.Fatalf("form submit of customer %d (%s) has another email: %s", e.Customer, c.Email, e.Payload)
		}
	}
}

func TestStreamCount(t *testing.T) {
	n := 0
	for range demo.Stream(demo.Options{}, 12345) {
		n++
	}
	if n != 12345 {
		t.Fatalf("Stream yielded %d, want 12345", n)
	}
}

func TestPairScores(t *testing.T) {
	truth := map[string]int{"a": 1, "b": 1, "c": 1, "d": 2, "e": 2}
	// {a,b} {c,d} {e}: one right pair of three predicted; one of four actual.
	p, r := demo.PairScores(map[string]string{"a": "x", "b": "x", "c": "y", "d": "y", "e": "z"}, truth)
	if p != 0.5 || r != 0.25 {
		t.Errorf("precision %v recall %v, want 0.5 0.25", p, r)
	}
	p, r = demo.PairScores(map[string]string{"a": "x", "b": "x", "c": "x", "d": "y"}, truth) // e unstitched
	if p != 1 || r != 0.75 {
		t.Errorf("precision %v recall %v, want 1 0.75", p, r)
	}
}

// TestTruthUsesStoredIDs checks that Truth derives ids exactly as ingestion
// does, so that a partition read back from the log can be scored.
func TestTruthUsesStoredIDs(t *testing.T) {
	opts := demo.Options{Customers: 50}
	truth := demo.Truth(demo.Events(opts))
	n := 0
	for e := range demo.Events(opts) {
		b, err := event.Decode(bytes.NewReader(e.AppendJSON(nil)), event.FormatNDJSON)
		if err != nil || len(b.Events) != 1 {
			t.Fatal(err, b)
		}
		if c, ok := truth[b.Events[0].ID]; !ok || c != e.Customer {
			t.Fatalf("event %s: truth has %d, %v", b.Events[0].ID, c, ok)
		}
		n++
	}
	if n != len(truth) {
		t.Errorf("%d events, %d in the truth", n, len(truth))
	}
}

func TestEventsPerCustomer(t *testing.T) {
	for _, want := range []float64{6, 10, 30} {
		events := collect(demo.Options{Customers: 2000, EventsPerCustomer: want})
		customers := map[int]bool{}
		for _, e := range events {
			customers[e.Customer] = true
		}
		if got := float64(len(events)) / 2000; got < want*0.93 || got > want*1.07 || len(customers) != 2000 {
			t.Errorf("EventsPerCustomer %v: %.2f events a customer, %d customers", want, got, len(customers))
		}
	}
}

func TestRevisits(t *testing.T) {
	opts := demo.Options{Customers: 500, Seed: 4}
	known := map[string]bool{}
	for e := range demo.Events(opts) {
		if e.ID != "" {
			known[e.ID] = true
		}
	}
	var a, b []demo.Event
	for e := range demo.Revisits(opts, 3000) {
		a = append(a, e)
	}
	for e := range demo.Revisits(opts, 3000) {
		b = append(b, e)
	}
	if len(a) != 3000 || !reflect.DeepEqual(a, b) {
		t.Fatalf("Revisits gave %d events, deterministic %v", len(a), reflect.DeepEqual(a, b))
	}
	for _, e := range a {
		c := demo.CustomerAt(opts, e.Customer)
		if known[e.ID] || e.Customer >= 500 {
			t.Fatalf("revisit event %s of customer %d is not new or of an unknown customer", e.ID, e.Customer)
		}
		mine := false
		for _, ck := range c.Cookies {
			mine = mine || bytes.Contains(e.Payload, []byte(ck))
		}
		if e.Type == "page_view" && !mine {
			t.Fatalf("page view of customer %d without one of their cookies: %s", e.Customer, e.Payload)
		}
	}
}

// TestFirstCustomer: a stream from FirstCustomer on starts with the
// customers from there (the first chunk of 256, interleaved in time), with
// the identities CustomerAt gives them.
func TestFirstCustomer(t *testing.T) {
	opts := demo.Options{Customers: 100, FirstCustomer: 5000}
	seen := map[int]bool{}
	for e := range demo.Stream(opts, 2000) {
		if e.Customer < 5000 || e.Customer >= 5000+256 {
			t.Fatalf("customer %d in the first 2,000 events of a stream from 5000", e.Customer)
		}
		if !seen[e.Customer] {
			seen[e.Customer] = true
			c := demo.CustomerAt(opts, e.Customer)
			if c.CRMID != "" && !strings.Contains(string(e.Payload), c.CRMID) && e.Type == "customer_update" {
				t.Errorf("customer %d's CRM update does not carry %s: %s", e.Customer, c.CRMID, e.Payload)
			}
		}
	}
	if len(seen) < 50 {
		t.Errorf("%d customers in 2,000 events", len(seen))
	}
}
