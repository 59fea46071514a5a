package demo_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/demo"
	"github.com/weftdata/weft/internal/event"
)

// TestHouseholds checks the population has what issue 18 asks of it.
func TestHouseholds(t *testing.T) {
	opts := demo.HouseholdOptions{Customers: 4000, Seed: 5}
	events, truth := demo.Households(opts)
	again, _ := demo.Households(opts)
	if !reflect.DeepEqual(events, again) {
		t.Fatal("the same options gave different events")
	}
	if other, _ := demo.Households(demo.HouseholdOptions{Customers: 4000, Seed: 6}); reflect.DeepEqual(events, other) {
		t.Fatal("different seeds gave the same events")
	}
	if len(truth) != len(events) {
		t.Fatalf("%d events, %d in the truth (ids must be unique)", len(events), len(truth))
	}
	var body bytes.Buffer
	logins := map[int]string{}
	emails := map[string]map[int]bool{} // lower-cased email -> customers
	outOfOrder, mixedCase := 0, 0
	for i, e := range events {
		if truth[e.ID] != e.Customer {
			t.Fatalf("truth of %s is %d, the event's customer %d", e.ID, truth[e.ID], e.Customer)
		}
		if i > 0 && e.EventTime.Before(events[i-1].EventTime) {
			outOfOrder++
		}
		body.Write(e.AppendJSON(nil))
		body.WriteByte('\n')
		p := string(e.Payload)
		if id := field(p, "crm_id"); id != "" {
			if l, ok := logins[e.Customer]; ok && l != id {
				t.Fatalf("customer %d has two login ids %s %s", e.Customer, l, id)
			}
			logins[e.Customer] = id
		}
		if raw := field(p, "email"); raw != "" {
			email := strings.ToLower(strings.TrimSpace(raw))
			if email != raw {
				mixedCase++
			}
			if emails[email] == nil {
				emails[email] = map[int]bool{}
			}
			emails[email][e.Customer] = true
		}
	}
	shared, junk := 0, 0
	for email, customers := range emails {
		switch {
		case strings.Contains(email, ".family") && len(customers) == 2:
			shared += 2
		case len(customers) > 2 && !strings.Contains(email, "example"):
			junk++
		}
	}
	share := float64(shared) / float64(len(logins))
	t.Logf("%d events, %d customers logged in, %.3f of them in a household, %d junk emails, %d mixed case, %d out of time order",
		len(events), len(logins), share, junk, mixedCase, outOfOrder)
	if share < 0.07 || share > 0.09 {
		t.Errorf("%.3f of the logged-in customers share a household email, want about %v", share, demo.HouseholdShare)
	}
	if junk < 5 || mixedCase < len(events)/50 || outOfOrder < len(events)/10 {
		t.Errorf("too few traps: %d shared junk emails, %d mixed case, %d out of order", junk, mixedCase, outOfOrder)
	}
	cfg, err := config.Parse(demo.HouseholdConfig)
	if err != nil {
		t.Fatal(err)
	}
	blocked := 0
	for _, v := range cfg.Stitching.Identifiers["email"].BlockedValues {
		blocked += len(emails[v])
	}
	if blocked == 0 {
		t.Error("no event carries a blocked email")
	}
	b, err := event.Decode(&body, event.FormatNDJSON)
	if err != nil || len(b.Rejected) > 0 || len(b.Events) != len(events) {
		t.Fatalf("decode: %v, %d rejected, %d of %d", err, len(b.Rejected), len(b.Events), len(events))
	}
	for i, e := range b.Events {
		if e.ID != events[i].ID {
			t.Fatalf("event %d stored as %s, generated as %s", i, e.ID, events[i].ID)
		}
	}
}

// field is a string field of a flat JSON object, "" if absent.
func field(payload, key string) string {
	_, rest, ok := strings.Cut(payload, `"`+key+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
